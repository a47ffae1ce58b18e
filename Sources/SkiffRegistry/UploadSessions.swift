import Foundation
import HTTPTypes
import NIOCore
import SkiffOCI

/// Blob uploads in progress, by upload ID. Each session owns its ``BlobWriter`` (hashing as
/// bytes arrive), so a chunked upload is hashed once, in order, and never re-read.
///
/// Sessions live in memory: an upload interrupted by a server restart is unknown afterwards
/// (the client starts over), and its temporary file is removed with the ingest directory's
/// sweep at start. Nothing is visible under a digest before `finish` verified it.
actor UploadSessions {
    final class Session {
        let repository: String
        let writer: BlobWriter
        var lastActivity = Date()

        init(repository: String, writer: BlobWriter) {
            self.repository = repository
            self.writer = writer
        }
    }

    private let blobs: BlobStore
    private let maxBlobSize: Int64
    private var sessions: [String: Session] = [:]

    init(blobs: BlobStore, maxBlobSize: Int64) {
        self.blobs = blobs
        self.maxBlobSize = maxBlobSize
    }

    /// An upload untouched this long is abandoned: its session and temporary file go.
    static let abandonAfter: TimeInterval = 3600

    func start(repository: String) throws(RegistryError) -> String {
        removeAbandoned()
        let writer: BlobWriter
        do {
            writer = try blobs.ingest(expected: nil, expectedSize: nil)
        } catch {
            throw RegistryError(
                .blobUploadInvalid, "cannot start upload: \(error.message)", status: .internalServerError)
        }
        let id = UUID().uuidString.lowercased()
        sessions[id] = Session(repository: repository, writer: writer)
        return id
    }

    /// Bytes received so far, or BLOB_UPLOAD_UNKNOWN.
    func offset(of id: String, repository: String) throws(RegistryError) -> Int64 {
        try session(id, repository).writer.written
    }

    /// Appends a chunk that must start at `start` (when the client said where it starts).
    /// A chunk that takes the upload past the per-blob limit ends the upload: the session
    /// and everything written so far are discarded.
    func append(_ buffer: ByteBuffer, to id: String, repository: String, start: Int64?) throws(RegistryError) {
        let session = try session(id, repository)
        session.lastActivity = Date()
        if let start, start != session.writer.written {
            var error = RegistryError(
                .rangeInvalid, "chunk starts at \(start) but the upload has \(session.writer.written) bytes")
            error.headers[.range] = Self.rangeHeader(session.writer.written)
            error.headers[.location] = "/v2/\(repository)/blobs/uploads/\(id)"
            throw error
        }
        guard session.writer.written + Int64(buffer.readableBytes) <= maxBlobSize else {
            cancel(id, repository: repository)
            throw Registry.blobTooLarge(declared: nil, limit: maxBlobSize)
        }
        do {
            try buffer.withUnsafeReadableBytes { bytes throws(OCIError) in try session.writer.write(bytes) }
        } catch {
            throw RegistryError(
                .blobUploadInvalid, "cannot write upload: \(error.message)", status: .internalServerError)
        }
    }

    /// Verifies the upload against `digest` and stores it; the session ends either way.
    func finish(_ id: String, repository: String, digest: Digest) throws(RegistryError) -> Int64 {
        let session = try session(id, repository)
        sessions[id] = nil
        let size = session.writer.written
        do {
            let actual = try session.writer.commit(expecting: digest)
            precondition(actual == digest)
        } catch {
            switch error.code {
            case .digestMismatch, .invalidDigest:
                throw RegistryError(.digestInvalid, error.message)
            default:
                throw RegistryError(.blobUploadInvalid, error.message, status: .internalServerError)
            }
        }
        return size
    }

    /// Drops an upload and its temporary file; false when it was unknown.
    @discardableResult
    func cancel(_ id: String, repository: String) -> Bool {
        guard let session = sessions[id], session.repository == repository else { return false }
        sessions[id] = nil
        session.writer.abort()
        return true
    }

    private func removeAbandoned(now: Date = Date()) {
        for (id, session) in sessions where now.timeIntervalSince(session.lastActivity) > Self.abandonAfter {
            sessions[id] = nil
            session.writer.abort()
        }
    }

    /// Spec form of the bytes received: `0-(n-1)`, `0-0` before any byte.
    static func rangeHeader(_ size: Int64) -> String { "0-\(max(0, size - 1))" }

    private func session(_ id: String, _ repository: String) throws(RegistryError) -> Session {
        guard let session = sessions[id], session.repository == repository else {
            throw RegistryError(.blobUploadUnknown, "upload \(id) is unknown in \(repository)")
        }
        return session
    }
}
