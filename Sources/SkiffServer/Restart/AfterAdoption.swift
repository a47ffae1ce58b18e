import ServiceLifecycle
import SkiffController

/// Runs a service once the controller has taken back the instances a previous server process
/// left running (at once when there were none).
struct AfterAdoption: Service {
    let service: any Service
    let controller: Controller

    func run() async throws {
        await self.controller.waitUntilAdopted()
        try await self.service.run()
    }
}
