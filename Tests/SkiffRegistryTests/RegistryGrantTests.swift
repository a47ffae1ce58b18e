import HTTPTypes
import SkiffModel
import SkiffRegistry
import Testing

/// What a token's role and scope allow in the registry, without HTTP.
@Suite struct RegistryGrantTests {
    static func allows(_ grant: RegistryGrant, _ needed: RegistryAccess, on repository: String?) -> Bool {
        do {
            try grant.authorize(needed, on: repository)
            return true
        } catch {
            return false
        }
    }

    @Test func readTokensPullAndOthersPushToo() {
        #expect(RegistryGrant(role: .read, repositories: nil).access == .read)
        #expect(RegistryGrant(role: .write, repositories: nil).access == .write)
        #expect(RegistryGrant(role: .admin, repositories: nil).access == .write)
        #expect(RegistryGrant(role: .write, repositories: ["team/*"]).repositories == ["team/*"])
    }

    @Test func aReadGrantIsDeniedWritesOnly() throws {
        let grant = RegistryGrant(role: .read, repositories: nil)
        #expect(Self.allows(grant, .read, on: "team/app"))
        #expect(Self.allows(grant, .read, on: nil))
        let error = #expect(throws: RegistryError.self) { try grant.authorize(.write, on: "team/app") }
        #expect(error?.code == .denied)
        #expect(error?.status == .forbidden)
        #expect(error?.message == "this token may pull but not push or delete")
    }

    @Test func aScopedGrantCoversItsRepositoriesOnly() {
        let grant = RegistryGrant(role: .write, repositories: ["team/*", "tools/lint"])
        #expect(Self.allows(grant, .write, on: "team/app"))
        #expect(Self.allows(grant, .write, on: "team/a/b"))
        #expect(Self.allows(grant, .read, on: "tools/lint"))
        #expect(!Self.allows(grant, .read, on: "teamx"))
        #expect(!Self.allows(grant, .read, on: "tools/lint2"))
        #expect(!Self.allows(grant, .write, on: "other/app"))
        let error = #expect(throws: RegistryError.self) { try grant.authorize(.read, on: "other/app") }
        #expect(error?.message == "this token does not cover repository other/app")
    }

    @Test func everyGrantReadsTheBaseEndpoint() {
        #expect(Self.allows(RegistryGrant(role: .read, repositories: ["team/*"]), .read, on: nil))
    }
}
