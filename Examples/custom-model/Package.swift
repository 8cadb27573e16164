// swift-tools-version:6.0
// A package that uses explaind-swift as a library: it defines its own model in Swift, trains it with history and
// replays the history as an exact path kernel. Build and run from the repository root with `make example`.
import PackageDescription

let package = Package(
    name: "custom-model",
    dependencies: [
        .package(name: "explaind-swift", path: "../..")
    ],
    targets: [
        .executableTarget(
            name: "custom-model",
            dependencies: [.product(name: "ExPLAIND", package: "explaind-swift")])
    ],
    swiftLanguageModes: [.v5]
)
