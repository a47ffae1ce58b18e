import Testing

@testable import SkiffRuntime

@Suite struct UserDatabaseTests {
    let database = UserDatabase(
        passwd: """
            root:x:0:0:root:/root:/bin/sh
            app:x:1000:1000:App:/home/app:/bin/sh
            nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
            broken line
            """,
        group: """
            root:x:0:
            wheel:x:10:app,other
            app:x:1000:
            staff:x:50:app
            nogroup:x:65534:
            """)

    @Test(
        arguments: [
            (nil, UserDatabase.Identity(uid: 0, gid: 0, home: "/root")),
            ("", UserDatabase.Identity(uid: 0, gid: 0, home: "/root")),
            ("app", UserDatabase.Identity(uid: 1000, gid: 1000, additionalGids: [10, 50], home: "/home/app")),
            ("1000", UserDatabase.Identity(uid: 1000, gid: 1000, additionalGids: [10, 50], home: "/home/app")),
            ("4242", UserDatabase.Identity(uid: 4242, gid: 0, home: "/")),
            ("4242:7", UserDatabase.Identity(uid: 4242, gid: 7, home: "/")),
            ("app:staff", UserDatabase.Identity(uid: 1000, gid: 50, home: "/home/app")),
            ("nobody:nogroup", UserDatabase.Identity(uid: 65534, gid: 65534, home: "/nonexistent")),
            ("1000:0", UserDatabase.Identity(uid: 1000, gid: 0, home: "/home/app")),
        ] as [(String?, UserDatabase.Identity)])
    func resolvesUserForms(user: String?, expected: UserDatabase.Identity) throws {
        #expect(try database.resolve(user) == expected)
    }

    @Test func numericIdsNeedNoFiles() throws {
        let empty = UserDatabase(passwd: nil, group: nil)
        #expect(try empty.resolve("123:456") == UserDatabase.Identity(uid: 123, gid: 456))
        #expect(try empty.resolve(nil) == UserDatabase.Identity(uid: 0, gid: 0))
    }

    @Test(arguments: [("ghost", "user `ghost`"), ("app:ghosts", "group `ghosts`"), ("1000:ghosts", "group `ghosts`")])
    func unknownNamesAreErrorsNamingThem(user: String, fragment: String) {
        let error = #expect(throws: RuntimeError.self) { try database.resolve(user) }
        #expect(error?.code == .unknownUser)
        #expect(error?.message.contains(fragment) == true)
    }
}
