import ArgumentParser
import Artifacts
import ExperimentKit
import Foundation
import Tensor

/// `bench`: the benchmark workloads P1–P4 (results/reference/README.md) and the micro benchmarks behind them.
///
/// Each workload runs in a fresh child process (this executable re-run with `--child`), so the peak RSS reported
/// per workload is that workload's own. Children print their rows as `@@row <json>` lines; the parent prints one
/// table with the measured value, the original PyTorch figure, our target and the ratios.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract:
            "Benchmark workloads: sgemm roofline, ResNet-9 training, per-sample gradients, training steps, kernel GEMMs, P1–P4 and the quick EPK configs.",
        discussion:
            "Workloads: \(Workload.all.map(\.name).joined(separator: ", ")). Groups: P2 = P2a P2b, epk-step = \(Workload.quickNames.joined(separator: " ")). Default: all."
    )

    @Option(name: .long, help: "Workload to run (repeatable; default all).")
    var workload: [String] = []

    @Option(name: .long, help: "Worker threads for loops and BLAS (default: all cores).")
    var threads: Int?

    @Option(name: .long, help: "Timed repetitions of each micro measurement; the best is reported.")
    var `repeat`: Int = 2

    @Option(name: .long, help: "Folder for the cached histories (default: a temporary folder, removed at the end).")
    var cache: String?

    @Flag(name: .long, help: "P2a over all 200 steps of the P1 history (default: its first 40 steps).")
    var full = false

    @Option(name: .long, help: "Steps of the P1 history that P2a processes (default 40; --full: 200).")
    var p2aSteps: Int?

    @Option(name: .long, help: "Steps of the P1 history that P2b processes (default 2).")
    var p2bSteps: Int?

    @Option(name: .long, help: "Steps of the P3 history that P4 processes (default: all 16).")
    var p4Steps: Int?

    @Option(
        name: .long,
        help: "EPK memory budget in GiB for P2/P4 and kernel-gemm shapes (default: 1.0 for P2, 0.5 for P4).")
    var budgetGb: Double?

    @Flag(name: .long, help: "Internal: run one workload in this process and print its rows.")
    var child = false

    @Option(
        name: .long,
        help: "Internal: the run's sgemm peak at --threads (GFLOP/s), which every \"vs sgemm peak\" row divides by.")
    var sgemmPeak: Double?

    @Flag(
        name: .long, help: "Print the OpenBLAS kernels in use and the CPU's SIMD level as key=value lines, then exit.")
    var blasInfo = false

    func validate() throws {
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
        if `repeat` < 1 { throw ValidationError("--repeat must be at least 1") }
        if let s = p4Steps, s < 1 { throw ValidationError("--p4-steps must be at least 1") }
        if let p = sgemmPeak, !(p > 0 && p.isFinite) { throw ValidationError("--sgemm-peak must be a positive number") }
        for w in workload where Workload.expand(w) == nil {
            throw ValidationError(
                "unknown workload '\(w)'; choose from \(Workload.all.map(\.name).joined(separator: ", ")), P2, epk-step"
            )
        }
    }

    var threadCount: Int { threads ?? Parallel.workers }

    func run() throws {
        if blasInfo {
            print("core=\(BLASKernels.coreInUse)")
            print("core_level=\(BLASKernels.level(ofCore: BLASKernels.coreInUse))")
            print("cpu_level=\(BLASKernels.cpuLevel)")
            return
        }
        Parallel.configure(threads: threadCount)
        if child { try runChild(); return }
        try runParent()
    }

    // MARK: child

    func runChild() throws {
        guard workload.count == 1,
            let w = Workload.all.first(where: { $0.name.lowercased() == workload[0].lowercased() })
        else {
            throw ValidationError("--child needs exactly one concrete workload")
        }
        var ctx = BenchContext(
            threads: threadCount, repeats: `repeat`, cacheDirectory: cache ?? NSTemporaryDirectory(),
            full: full, budgetGiB: budgetGb, p2aSteps: p2aSteps, p2bSteps: p2bSteps, p4Steps: p4Steps,
            runPeakGFLOPS: sgemmPeak)
        try FileManager.default.createDirectory(atPath: ctx.cacheDirectory, withIntermediateDirectories: true)
        let t0 = Clock.now()
        try w.run(&ctx)
        for row in ctx.rows { Report.emit(row) }
        let rss = Clock.peakRSSBytes() / 1e9
        Report.emit(
            Row(
                w.name, "peak RSS (whole process)", rss, "GB", original: w.originalRSS, target: w.targetRSS,
                lowerIsBetter: true,
                note: String(format: "workload wall %.1f s", Clock.now() - t0)))
    }

    // MARK: parent

    func runParent() throws {
        let names = workload.isEmpty ? Workload.all.map(\.name) : workload.flatMap { Workload.expand($0)! }
        var seen = Set<String>()
        // sgemm always runs first: every table states the BLAS kernels and the sgemm peak of its own run.
        let ordered = Workload.all.map(\.name).filter {
            ($0 == "sgemm" || names.contains($0)) && seen.insert($0).inserted
        }
        let cacheDirectory = cache ?? (NSTemporaryDirectory() + "explaind-bench-\(getpid())")
        try FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true)
        defer { if cache == nil { try? FileManager.default.removeItem(atPath: cacheDirectory) } }

        let loadBefore = Clock.loadAverage()
        let start = Clock.now()
        var rows: [Row] = []
        // The run's sgemm peak: the sgemm row at this run's thread count, passed to every later workload.
        var peak: Double?
        let peakMetric = MicroWorkloads.peakMetric(threads: threadCount)
        for name in ordered {
            FileHandle.standardError.write(Data("bench: \(name) (load \(Clock.loadAverage()))\n".utf8))
            let t0 = Clock.now()
            let (childRows, status) = try runChildProcess(name, cacheDirectory: cacheDirectory, peak: peak)
            rows += childRows
            if name == "sgemm" {
                peak = childRows.first { $0.workload == "sgemm" && $0.metric == peakMetric }?.value
            }
            if status != 0 {
                rows.append(Row(name, "FAILED", Double(status), "exit status", note: "see the log above"))
            }
            FileHandle.standardError.write(
                Data(String(format: "bench: %@ done in %.1f s\n", name, Clock.now() - t0).utf8))
        }
        let wall = Clock.now() - start
        print("")
        print(
            "explaind-swift bench — \(threadCount) thread(s), repeat \(`repeat`), \(ProcessInfo.processInfo.activeProcessorCount) cores; load average before \(loadBefore), after \(Clock.loadAverage()); total \(String(format: "%.0f", wall)) s"
        )
        print(BLASKernels.summary)
        print(
            peak.map {
                String(
                    format: "sgemm peak of this run: %.1f GFLOP/s (%@); every \"vs sgemm peak\" row divides by it.", $0,
                    peakMetric)
            } ?? "sgemm peak of this run: not measured; \"vs sgemm peak\" rows measured their own (see their notes).")
        print(
            "×orig = times better than the original PyTorch figure; ×target ≥ 1 meets the target. Each workload ran in its own process (peak RSS is per workload)."
        )
        print("")
        print(Report.table(rows))
    }

    /// Runs `bench --child --workload name ...`, forwarding its standard error, and collects its rows.
    func runChildProcess(_ name: String, cacheDirectory: String, peak: Double?) throws -> ([Row], Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var arguments = [
            "--child", "--workload", name, "--threads", String(threadCount), "--repeat", String(`repeat`),
            "--cache", cacheDirectory,
        ]
        if full { arguments.append("--full") }
        if let s = p2aSteps { arguments += ["--p2a-steps", String(s)] }
        if let s = p2bSteps { arguments += ["--p2b-steps", String(s)] }
        if let s = p4Steps { arguments += ["--p4-steps", String(s)] }
        if let b = budgetGb { arguments += ["--budget-gb", String(b)] }
        if let p = peak { arguments += ["--sgemm-peak", String(p)] }
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var rows: [Row] = []
        for line in String(decoding: output, as: UTF8.self).split(separator: "\n") {
            if let row = Report.parse(line) { rows.append(row) } else { print(line) }
        }
        return (rows, process.terminationStatus)
    }
}

/// A named workload run inside a child process.
struct Workload {
    let name: String
    let originalRSS: Double?
    let targetRSS: Double?
    let run: (inout BenchContext) throws -> Void

    init(
        _ name: String, originalRSS: Double? = nil, targetRSS: Double? = nil,
        _ run: @escaping (inout BenchContext) throws -> Void
    ) {
        self.name = name; self.originalRSS = originalRSS; self.targetRSS = targetRSS; self.run = run
    }

    static let quickNames = ["epk-modulo-quick", "epk-cifar2-quick", "epk-mnist-quick"]

    /// In run order: cached histories are produced before they are used (P1 → P2a/P2b, P3 → P4).
    static let all: [Workload] = [
        Workload("sgemm") { MicroWorkloads.sgemm(&$0) },
        Workload("resnet-train") { MicroWorkloads.resnetTrain(&$0) },
        Workload("per-sample") { MicroWorkloads.perSample(&$0) },
        Workload("train-steps") { try MicroWorkloads.trainSteps(&$0) },
        Workload("kernel-gemm") { try KernelGEMM.run(&$0) },
        Workload("P1") { try PaperWorkloads.p1(&$0) },
        Workload("P2a", originalRSS: 12.6, targetRSS: 1.3) { try PaperWorkloads.p2(&$0, allClasses: false) },
        Workload("P2b", originalRSS: 12.6, targetRSS: 1.3) { try PaperWorkloads.p2(&$0, allClasses: true) },
        Workload("P3") { try PaperWorkloads.p3(&$0) },
        Workload("P4", originalRSS: 7.4, targetRSS: 0.75) { try PaperWorkloads.p4(&$0) },
        Workload("spec-resnet") { try SpecWorkloads.resnetSpec(&$0) },
        Workload("epk-modulo-quick") { try PaperWorkloads.quick(&$0, experiment: "modulo") },
        Workload("epk-cifar2-quick") { try PaperWorkloads.quick(&$0, experiment: "cifar2") },
        Workload("epk-mnist-quick") { try PaperWorkloads.quick(&$0, experiment: "mnist") },
    ]

    /// A workload name or group (case-insensitive) → concrete workload names.
    static func expand(_ name: String) -> [String]? {
        switch name.lowercased() {
        case "p2": return ["P2a", "P2b"]
        case "epk-step": return quickNames
        default: return all.first { $0.name.lowercased() == name.lowercased() }.map { [$0.name] }
        }
    }
}

ensureBestBLASKernels()
Bench.main()
