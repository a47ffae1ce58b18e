import SkiffModel
import SkiffRuntime

extension Controller {
    /// An instance the controller runs, with what its supervisor has been asked to do.
    struct Supervised: Sendable {
        var instance: Instance
        var stopRequested = false
        /// Set with `stopRequested` at a shutdown that keeps instances: its supervisor lets go
        /// of it and it keeps running, for the next server process to adopt.
        var released = false
    }

    /// An instance for a supervisor to run: a new one it starts, or one a previous server
    /// process left running, which it serves from where it is.
    struct Launch: Sendable {
        var id: String
        var adopted: StartedInstance?
    }
}
