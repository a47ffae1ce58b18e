import SkiffModel
import SkiffOCI
import SkiffRegistry
import SkiffRuntime

extension InstanceSpec {
    /// What the runtime needs to start one instance of a revision.
    static func make(id: String, revision: Revision, image: ResolvedImage) -> InstanceSpec {
        var env: [String: String] = [:]
        for variable in revision.spec.env { env[variable.name] = variable.value }
        return InstanceSpec(
            id: id, lowerDirs: image.layerPaths, image: image.config.config, command: revision.spec.command,
            args: revision.spec.args, env: env, workingDir: nil, port: revision.spec.port,
            memoryLimitBytes: revision.spec.memory?.bytes, cpuMillis: revision.spec.cpu?.millis, pidsLimit: nil)
    }
}
