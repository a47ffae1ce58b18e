import Foundation
import SkiffOCI

/// A pushed manifest or index, checked and reduced to what the registry stores about it.
struct ParsedManifest {
    var mediaType: String
    /// Blobs the manifest needs: its config and layers (none for an index).
    var blobs: [Descriptor] = []
    var layers: [Descriptor] = []
    /// Manifests an index lists.
    var children: [Descriptor] = []
    var artifactType: String?
    var subject: Descriptor?
    var annotations: [String: String]?

    private struct Probe: Decodable {
        var schemaVersion: Int?
        var mediaType: String?
        var config: Descriptor?
        var manifests: [Descriptor]?
    }

    static let manifestTypes: Set<String> = [MediaType.imageManifest, MediaType.dockerManifest]
    static let indexTypes: Set<String> = [MediaType.imageIndex, MediaType.dockerManifestList]

    init(bytes: [UInt8], contentType: String?) throws(OCIError) {
        let data = Data(bytes)
        let probe: Probe
        do {
            probe = try JSONDecoder().decode(Probe.self, from: data)
        } catch {
            throw OCIError(.invalidManifest, "manifest is not a JSON object: \(error)")
        }
        guard probe.schemaVersion == 2 else {
            throw OCIError(.invalidManifest, "manifest schemaVersion must be 2")
        }
        let declared = contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) }
        // `mediaType` is optional in OCI manifests (umoci leaves it out): the shape tells.
        let inferred =
            probe.config != nil ? MediaType.imageManifest : probe.manifests != nil ? MediaType.imageIndex : nil
        guard let mediaType = probe.mediaType ?? declared ?? inferred, !mediaType.isEmpty else {
            throw OCIError(.invalidManifest, "manifest has no mediaType and the request no Content-Type")
        }
        if let declared, let inBody = probe.mediaType, declared != inBody, declared != "application/json" {
            throw OCIError(
                .invalidManifest, "Content-Type \(declared) does not match the manifest's mediaType \(inBody)")
        }
        self.mediaType = mediaType
        do {
            if Self.manifestTypes.contains(mediaType) {
                let manifest = try JSONDecoder().decode(Manifest.self, from: data)
                self.blobs = [manifest.config] + manifest.layers
                self.layers = manifest.layers
                self.artifactType = manifest.artifactType ?? manifest.config.mediaType
                self.subject = manifest.subject
                self.annotations = manifest.annotations
            } else if Self.indexTypes.contains(mediaType) {
                let index = try JSONDecoder().decode(Index.self, from: data)
                self.children = index.manifests
                self.artifactType = index.artifactType
                self.subject = index.subject
                self.annotations = index.annotations
            } else {
                throw OCIError(.invalidManifest, "unsupported manifest media type \(mediaType)")
            }
        } catch let error as OCIError {
            throw error
        } catch {
            throw OCIError(.invalidManifest, "malformed \(mediaType): \(error)")
        }
    }
}
