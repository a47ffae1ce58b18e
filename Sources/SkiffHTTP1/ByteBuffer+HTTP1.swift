public import NIOCore

/// Writing HTTP/1 heads and chunked framing straight into one buffer: one write for a head, no intermediate parts.
///
/// Nothing here validates: names, values, targets and reasons must not hold CR, LF or other bytes their grammar
/// forbids. Fields from ``HTTP1Parser`` already satisfy that.
extension ByteBuffer {
    /// Writes a request line, the fields and the empty line; returns the number of bytes written.
    @discardableResult
    public mutating func writeHTTP1RequestHead(
        method: HTTP1Method, target: String, version: HTTP1Version = .http1_1, headers: HTTP1Headers
    ) -> Int {
        let start = self.writerIndex
        self.reserveCapacity(minimumWritableBytes: target.utf8.count + headers.estimatedSize + 32)
        self.writeStaticString(method.name)
        self.writeInteger(UInt8.space)
        self.writeString(target)
        self.writeHTTP1Version(version, leadingSpace: true)
        self.writeStaticString("\r\n")
        headers.write(into: &self)
        self.writeStaticString("\r\n")
        return self.writerIndex - start
    }

    /// Writes a status line (`reason` may be empty), the fields and the empty line; returns the number of bytes
    /// written.
    @discardableResult
    public mutating func writeHTTP1ResponseHead(
        status: Int, reason: String, version: HTTP1Version = .http1_1, headers: HTTP1Headers
    ) -> Int {
        precondition((0...999).contains(status), "a status code has three digits")
        let start = self.writerIndex
        self.reserveCapacity(minimumWritableBytes: reason.utf8.count + headers.estimatedSize + 32)
        self.writeHTTP1Version(version, leadingSpace: false)
        self.writeInteger(UInt8.space)
        self.writeInteger(UInt8(48 + status / 100))
        self.writeInteger(UInt8(48 + status / 10 % 10))
        self.writeInteger(UInt8(48 + status % 10))
        self.writeInteger(UInt8.space)
        self.writeString(reason)
        self.writeStaticString("\r\n")
        headers.write(into: &self)
        self.writeStaticString("\r\n")
        return self.writerIndex - start
    }

    /// Writes a parsed head again, with its fields as they are now (the caller may have removed or added some).
    @discardableResult
    public mutating func writeHTTP1Head(_ head: HTTP1Head) -> Int {
        if !head.isResponse {
            return self.writeHTTP1RequestHead(
                method: head.method, target: head.target, version: head.version, headers: head.headers)
        }
        return self.writeHTTP1ResponseHead(
            status: head.status, reason: head.reason, version: head.version, headers: head.headers)
    }

    /// Writes the size line of a chunk of `size` bytes (`1a2b\r\n`); the data and ``writeHTTP1ChunkEnd()`` follow.
    /// The size must not be 0: that is the last chunk.
    @discardableResult
    public mutating func writeHTTP1ChunkHeader(size: Int) -> Int {
        precondition(size > 0, "a chunk of no bytes is the last chunk")
        var digits: (UInt64, UInt64) = (0, 0)
        let count = withUnsafeMutableBytes(of: &digits) { digits in
            var value = UInt64(size)
            var index = 16
            repeat {
                index -= 1
                let digit = UInt8(value & 0xF)
                digits[index] = digit < 10 ? 48 + digit : 87 + digit
                value >>= 4
            } while value > 0
            return self.writeBytes(UnsafeRawBufferPointer(rebasing: digits[index..<16]))
        }
        return count + self.writeStaticString("\r\n")
    }

    /// Writes the CRLF that ends a chunk's data.
    @discardableResult
    public mutating func writeHTTP1ChunkEnd() -> Int {
        self.writeStaticString("\r\n")
    }

    /// Writes one whole chunk: size line, `data` (copied) and CRLF. Writes nothing for empty data, which would end
    /// the body.
    @discardableResult
    public mutating func writeHTTP1Chunk(_ data: ByteBuffer) -> Int {
        guard data.readableBytes > 0 else { return 0 }
        var data = data
        self.reserveCapacity(minimumWritableBytes: data.readableBytes + 20)
        return self.writeHTTP1ChunkHeader(size: data.readableBytes) + self.writeBuffer(&data)
            + self.writeHTTP1ChunkEnd()
    }

    /// Writes the last chunk, the trailer fields if any, and the empty line that ends a chunked body.
    @discardableResult
    public mutating func writeHTTP1LastChunk(trailers: HTTP1Headers? = nil) -> Int {
        let start = self.writerIndex
        self.writeStaticString("0\r\n")
        trailers?.write(into: &self)
        self.writeStaticString("\r\n")
        return self.writerIndex - start
    }

    private mutating func writeHTTP1Version(_ version: HTTP1Version, leadingSpace: Bool) {
        switch (version, leadingSpace) {
        case (.http1_1, true): self.writeStaticString(" HTTP/1.1")
        case (.http1_0, true): self.writeStaticString(" HTTP/1.0")
        case (.http1_1, false): self.writeStaticString("HTTP/1.1")
        case (.http1_0, false): self.writeStaticString("HTTP/1.0")
        }
    }
}

extension HTTP1Headers {
    /// An upper bound of the bytes ``write(into:)`` takes.
    public var estimatedSize: Int {
        self.bytes.readableBytes + 4 * self.count
    }
}
