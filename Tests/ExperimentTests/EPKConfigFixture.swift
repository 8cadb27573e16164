import Artifacts
import EPK
import Foundation
import TestSupport

@testable import ExperimentKit

extension WorkspaceTestCase {
    /// `Configs/mnist-epk-quick.json` with 2 midpoints per step and `edit` applied, written to `name` in the test folder.
    func writeMNISTEPKConfig(_ name: String, _ edit: (inout EPKConfig) -> Void) throws -> String {
        var config = try StrictConfig.load(EPKConfig.self, from: "Configs/mnist-epk-quick.json")
        config.quadrature = QuadratureConfig(rule: .midpoint, points: 2)
        edit(&config)
        let path = directory + "/" + name
        try JSONEncoder().encode(config).write(to: URL(fileURLWithPath: path))
        return path
    }
}
