// swift-tools-version:6.0
// explaind-swift: a CPU-only reproduction workbench for ExPLAIND (arXiv 2505.20076).
// Library modules live in Sources/, one executable per experiment in Experiments/.
import PackageDescription

/// Release builds are -O with whole-module optimisation (SwiftPM default); hot loops use wrapping arithmetic instead of -Ounchecked.
let optimized: [SwiftSetting] = []

/// One executable per paper experiment; each is a thin swift-argument-parser front over ExperimentKit.
let experimentNames: [String] = [
    "bench",
    "gallery",
    "train",
    "train-modulo",
    "train-cifar2",
    "train-mnist",
    "validate-epk",
    "plot",
    "reproduce",
    "report",
    "prune",
    "sensitivity",
    "train-lm",
    "step-explainer",
    "lds",
    "component-attribution",
    "swap-aligned",
    "retrain-pipeline",
]

/// Executables that need less than ExperimentKit (the gallery only draws synthetic data).
let experimentDependencies: [String: [Target.Dependency]] = [
    "gallery": ["Plot"]
]

var targets: [Target] = [
    // System libraries (Debian packages; see `make setup`).
    .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
    .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
    .systemLibrary(name: "CCairo", pkgConfig: "cairo", providers: [.apt(["libcairo2-dev"])]),
    .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

    // Library modules, bottom-up.
    .target(name: "Tensor", dependencies: ["CBLAS"], swiftSettings: optimized),
    .target(name: "NN", dependencies: ["Tensor"], swiftSettings: optimized),
    .target(name: "Optim", dependencies: ["Tensor"], swiftSettings: optimized),
    .target(name: "Data", dependencies: ["Tensor", "CZlib"], swiftSettings: optimized),
    .target(name: "Artifacts", dependencies: ["CHDF5", "Tensor"], swiftSettings: optimized),
    .target(name: "Plot", dependencies: ["CCairo", "CPNG"], swiftSettings: optimized),
    .target(name: "History", dependencies: ["Tensor", "NN", "Optim", "Data", "Artifacts"], swiftSettings: optimized),
    .target(
        name: "EPK", dependencies: ["Tensor", "NN", "Optim", "Data", "Artifacts", "History"], swiftSettings: optimized),
    /// Attribution analyses with no command-line or file-layout concerns (pruning, similarity, the step explainer, …).
    .target(
        name: "Analysis", dependencies: ["Tensor", "NN", "Optim", "Data", "Artifacts", "History", "EPK"],
        swiftSettings: optimized),
    .target(
        name: "ExperimentKit",
        dependencies: [
            "Tensor", "NN", "Optim", "Data", "Artifacts", "History", "EPK", "Analysis", "Plot",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ],
        swiftSettings: optimized),

    // Tests, mirrored per module, with one shared support target (temporary folders, the repository root).
    .target(name: "TestSupport", dependencies: ["Artifacts", "History"], path: "Tests/TestSupport"),
    .testTarget(name: "TensorTests", dependencies: ["Tensor"]),
    .testTarget(name: "NNTests", dependencies: ["NN", "Tensor"]),
    .testTarget(name: "OptimTests", dependencies: ["Optim", "Tensor"]),
    .testTarget(name: "DataTests", dependencies: ["Data", "Tensor", "CZlib"]),  // CZlib: writes .gz fixtures
    .testTarget(name: "ArtifactsTests", dependencies: ["Artifacts", "Tensor"]),
    .testTarget(name: "PlotTests", dependencies: ["Plot", "CPNG"]),
    .testTarget(name: "EPKTests", dependencies: ["EPK", "History", "NN", "Tensor", "Artifacts"]),
    .testTarget(
        name: "HistoryTests", dependencies: ["TestSupport", "History", "NN", "Optim", "Data", "Artifacts", "Tensor"]),
    .testTarget(
        name: "ExperimentTests",
        dependencies: [
            "TestSupport", "Analysis", "ExperimentKit", "EPK", "History", "NN", "Data", "Artifacts", "Plot", "Tensor",
        ]),
    .testTarget(
        name: "PruneTests",
        dependencies: ["TestSupport", "Analysis", "ExperimentKit", "EPK", "History", "NN", "Tensor", "Artifacts"]),
    .testTarget(name: "LMTests", dependencies: ["NN", "Tensor"]),
    .testTarget(
        name: "StepExplainerTests",
        dependencies: ["TestSupport", "Analysis", "ExperimentKit", "EPK", "History", "NN", "Tensor", "Artifacts"]),
    .testTarget(
        name: "LDSTests",
        dependencies: [
            "TestSupport", "Analysis", "ExperimentKit", "EPK", "History", "NN", "Data", "Artifacts", "Tensor",
        ]),
    .testTarget(
        name: "GrokkingTests",
        dependencies: ["Analysis", "ExperimentKit", "EPK", "History", "NN", "Tensor", "Data", "Artifacts"]),
]

for name in experimentNames {
    targets.append(
        .executableTarget(
            name: name, dependencies: experimentDependencies[name] ?? ["ExperimentKit"],
            path: "Experiments/\(name)", swiftSettings: optimized))
}

let package = Package(
    name: "explaind-swift",
    platforms: [.macOS(.v13)],
    products: [
        // The library for other packages (see Examples/custom-model): define a model in code, train it with history
        // and replay it as an exact path kernel.
        .library(name: "ExPLAIND", targets: ["Tensor", "NN", "Optim", "Data", "Artifacts", "History", "EPK"])
    ] + experimentNames.map { .executable(name: $0, targets: [$0]) },
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: targets,
    // Swift 5 language mode: the numeric code passes raw buffers between threads, which the Swift 6 Sendable
    // checker cannot see through; thread-safety is instead by construction (disjoint ranges per worker).
    swiftLanguageModes: [.v5]
)
