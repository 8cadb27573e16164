import Foundation
import XCTest

/// A history written by a real PyTorch training loop (python/examples/torch_mlp.py: torch.optim.SGD with momentum
/// and weight decay, torch.optim.AdamW) replays as an exact path kernel (`assertForeignHistoryReplays`).
/// The python comes from EXPLAIND_TORCH_PYTHON (it needs torch, numpy and h5py); without it the tests are skipped.
final class TorchHistoryTests: XCTestCase {
    static let variable = "EXPLAIND_TORCH_PYTHON"

    func replay(optimizer: String, seed: Int) throws {
        guard let python = ProcessInfo.processInfo.environment[Self.variable].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw XCTSkip("set \(Self.variable) to a python with torch, numpy and h5py to replay a PyTorch history")
        }
        try XCTSkipUnless(
            try pythonHas(python, "torch, numpy, h5py"),
            "\(Self.variable)=\(python) is not a python with torch, numpy and h5py")
        try assertForeignHistoryReplays(
            python: python, script: "python/examples/torch_mlp.py", outputs: "torch-outputs.h5",
            optimizer: optimizer, seed: seed)
    }

    func testTorchSGDMomentumWithWeightDecayReplays() throws { try replay(optimizer: "sgd", seed: 1) }
    func testTorchAdamWReplays() throws { try replay(optimizer: "adamw", seed: 3) }
}
