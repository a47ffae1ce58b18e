import Glibc

/// errno as text for messages: `No such file or directory (errno 2)`.
enum Errno {
    static func text(_ code: CInt) -> String {
        "\(String(cString: strerror(code))) (errno \(code))"
    }
}
