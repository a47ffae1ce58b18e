public import NIOCore

/// Header (or trailer) fields in the order received, names with their original case, values without the leading
/// whitespace (trailing whitespace kept, as llhttp and NIO keep it).
///
/// The fields are offsets into one buffer: for a parsed head, a slice of the bytes received, so parsing copies no
/// name or value and allocates one array. Names and values come out as `String` only when asked for.
public struct HTTP1Headers: Sendable {
    /// One field: where its name and value lie in `bytes`.
    struct Field: Sendable {
        var nameStart: UInt32
        var nameEnd: UInt32
        var valueStart: UInt32
        var valueEnd: UInt32

        init(nameStart: Int, nameEnd: Int, valueStart: Int, valueEnd: Int) {
            self.nameStart = UInt32(truncatingIfNeeded: nameStart)
            self.nameEnd = UInt32(truncatingIfNeeded: nameEnd)
            self.valueStart = UInt32(truncatingIfNeeded: valueStart)
            self.valueEnd = UInt32(truncatingIfNeeded: valueEnd)
        }
    }

    /// The bytes the fields point into, from index 0.
    var bytes: ByteBuffer
    var fields: [Field]

    init(bytes: ByteBuffer, fields: [Field]) {
        self.bytes = bytes
        self.fields = fields
    }

    /// No fields.
    public init() {
        self.bytes = ByteBuffer()
        self.fields = []
    }

    /// Fields from name and value pairs, in order. Names and values are not checked: the caller vouches for them.
    public init(_ pairs: some Sequence<(String, String)>) {
        self.init()
        for (name, value) in pairs {
            self.append(name: name, value: value)
        }
    }

    /// The number of fields.
    public var count: Int { self.fields.count }

    /// Adds a field at the end. The name and value are not checked: the caller vouches for them.
    public mutating func append(name: String, value: String) {
        let nameStart = self.bytes.writerIndex
        self.bytes.writeString(name)
        let valueStart = self.bytes.writerIndex
        self.bytes.writeString(value)
        self.fields.append(
            Field(nameStart: nameStart, nameEnd: valueStart, valueStart: valueStart, valueEnd: self.bytes.writerIndex))
    }

    /// Removes the field at `index`, keeping the order of the others. Its bytes stay where they are.
    public mutating func remove(at index: Int) {
        self.fields.remove(at: index)
    }

    /// Removes every field whose name equals `name`, ignoring ASCII case.
    public mutating func removeAll(name: String) {
        let bytes = self.bytes
        self.fields.removeAll { field in Self.nameBytes(field, in: bytes).equalsCaseInsensitive(name) }
    }

    /// Removes every field whose name (its bytes, as received) `predicate` picks, keeping the order of the others.
    public mutating func removeAll(where predicate: (_ name: ByteBufferView) -> Bool) {
        let bytes = self.bytes
        self.fields.removeAll { predicate(Self.nameBytes($0, in: bytes)) }
    }

    /// The bytes of the name of the field at `index`, as received, without making a string.
    public func nameBytes(at index: Int) -> ByteBufferView {
        self.nameBytes(self.fields[index])
    }

    /// The bytes of the value of the field at `index`, without making a string.
    public func valueBytes(at index: Int) -> ByteBufferView {
        self.valueBytes(self.fields[index])
    }

    /// The bytes of the value of the first field named `name` (ignoring ASCII case), or nil. Allocates nothing.
    public func firstValueBytes(name: String) -> ByteBufferView? {
        for field in self.fields where self.nameBytes(field).equalsCaseInsensitive(name) {
            return self.valueBytes(field)
        }
        return nil
    }

    /// The name of the field at `index`, as received.
    public func name(at index: Int) -> String {
        String(decoding: self.nameBytes(self.fields[index]), as: UTF8.self)
    }

    /// The value of the field at `index`.
    public func value(at index: Int) -> String {
        String(decoding: self.valueBytes(self.fields[index]), as: UTF8.self)
    }

    /// Whether the name of the field at `index` equals `name`, ignoring ASCII case. Allocates nothing.
    public func name(at index: Int, equals name: String) -> Bool {
        self.nameBytes(self.fields[index]).equalsCaseInsensitive(name)
    }

    /// The value of the first field named `name` (ignoring ASCII case), or nil.
    public func first(name: String) -> String? {
        for field in self.fields where self.nameBytes(field).equalsCaseInsensitive(name) {
            return String(decoding: self.valueBytes(field), as: UTF8.self)
        }
        return nil
    }

    /// The values of every field named `name` (ignoring ASCII case), in order.
    public func values(name: String) -> [String] {
        self.fields.lazy.filter { self.nameBytes($0).equalsCaseInsensitive(name) }.map {
            String(decoding: self.valueBytes($0), as: UTF8.self)
        }
    }

    /// Whether a field is named `name`, ignoring ASCII case.
    public func contains(name: String) -> Bool {
        self.fields.contains { self.nameBytes($0).equalsCaseInsensitive(name) }
    }

    func nameBytes(_ field: Field) -> ByteBufferView {
        Self.nameBytes(field, in: self.bytes)
    }

    static func nameBytes(_ field: Field, in bytes: ByteBuffer) -> ByteBufferView {
        let view = bytes.readableBytesView
        return view[(view.startIndex + Int(field.nameStart))..<(view.startIndex + Int(field.nameEnd))]
    }

    func valueBytes(_ field: Field) -> ByteBufferView {
        let view = self.bytes.readableBytesView
        return view[(view.startIndex + Int(field.valueStart))..<(view.startIndex + Int(field.valueEnd))]
    }

    /// Writes every field as `name: value\r\n`, copying bytes without making strings.
    public func write(into buffer: inout ByteBuffer) {
        self.write(into: &buffer, omitting: { _ in false })
    }

    /// Writes the fields `omit` does not pick (by their names' bytes), as `name: value\r\n`.
    ///
    /// A received field is copied as the line it came in (the parser vouched for it: a token, a
    /// colon, optional whitespace, a valid value, CRLF), and adjacent received lines are copied
    /// together, so a head forwarded whole is one copy rather than four per field.
    public func write(into buffer: inout ByteBuffer, omitting omit: (_ name: ByteBufferView) -> Bool) {
        self.bytes.withUnsafeReadableBytes { bytes in
            var run = 0..<0
            for field in self.fields where !omit(self.nameBytes(field)) {
                // An appended field has its value right behind its name; a received one has
                // at least the colon between them, and its line ends with CRLF at `valueEnd`.
                guard field.valueStart > field.nameEnd else {
                    if !run.isEmpty { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[run])) }
                    run = 0..<0
                    buffer.writeBytes(
                        UnsafeRawBufferPointer(rebasing: bytes[Int(field.nameStart)..<Int(field.nameEnd)]))
                    buffer.writeStaticString(": ")
                    buffer.writeBytes(
                        UnsafeRawBufferPointer(rebasing: bytes[Int(field.valueStart)..<Int(field.valueEnd)]))
                    buffer.writeStaticString("\r\n")
                    continue
                }
                let line = Int(field.nameStart)..<(Int(field.valueEnd) + 2)
                if !run.isEmpty, run.upperBound == line.lowerBound {
                    run = run.lowerBound..<line.upperBound
                } else {
                    if !run.isEmpty { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[run])) }
                    run = line
                }
            }
            if !run.isEmpty { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[run])) }
        }
    }
}

extension HTTP1Headers: RandomAccessCollection {
    public var startIndex: Int { 0 }
    public var endIndex: Int { self.fields.count }

    /// The name and value of the field at `index`, as strings.
    public subscript(position: Int) -> (name: String, value: String) {
        (self.name(at: position), self.value(at: position))
    }
}

extension HTTP1Headers: CustomStringConvertible {
    public var description: String {
        "[" + self.map { "\($0.name): \($0.value)" }.joined(separator: ", ") + "]"
    }
}

extension ByteBufferView {
    /// Whether these bytes equal `string`'s UTF-8, ignoring ASCII case.
    public func equalsCaseInsensitive(_ string: String) -> Bool {
        var string = string
        return string.withUTF8 { other in
            guard other.count == self.count else { return false }
            var index = 0
            for byte in self {
                guard ByteClass.lowercased(byte) == ByteClass.lowercased(other[index]) else { return false }
                index += 1
            }
            return true
        }
    }
}
