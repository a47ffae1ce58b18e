import SkiffHTTP1
import Testing

@Suite struct HTTP1Tests {
    @Test func moduleLinks() {
        #expect(String(describing: HTTP1.self) == "HTTP1")
    }
}
