import CBLAS
import Foundation

/// Which OpenBLAS kernels run, and whether they are the best this CPU supports.
///
/// OpenBLAS (a `DYNAMIC_ARCH` build) picks its kernels once, when the library loads, from its own table of known
/// CPUs. A CPU newer than the library may be unknown to it, and it then falls back to its oldest x86-64 kernels
/// (Debian's 0.3.21 picks Prescott, SSE3, on recent Intel Xeons: about a quarter of the SkylakeX kernels' sgemm speed).
/// The choice can only be changed through `OPENBLAS_CORETYPE` in the environment before the process starts, so
/// `BLASKernels.decide` compares the chosen kernels with the CPU's SIMD level and, where they fall short, asks the
/// caller to start the process again with that variable set. A value the user set is always respected.
public enum BLASKernels {
    /// SIMD levels, ordered: a kernel family needs its level, and a CPU offers its level and everything below it.
    public enum SIMDLevel: Int, Comparable, Sendable, CustomStringConvertible {
        case sse = 0, avx, avx2, avx512

        public static func < (a: SIMDLevel, b: SIMDLevel) -> Bool { a.rawValue < b.rawValue }

        public var description: String {
            switch self {
            case .sse: return "SSE"
            case .avx: return "AVX"
            case .avx2: return "AVX2+FMA"
            case .avx512: return "AVX-512"
            }
        }
    }

    /// The SIMD level an OpenBLAS kernel family (as named by `openblas_get_corename`) is written for. Unknown names
    /// count as SSE, so an unrecognised choice is never mistaken for a good one.
    public static func level(ofCore name: String) -> SIMDLevel {
        switch name.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": return .avx512
        case "haswell", "zen": return .avx2
        case "sandybridge", "bulldozer", "piledriver", "steamroller", "excavator": return .avx
        default: return .sse
        }
    }

    /// The kernel family to request for a CPU of the given level and vendor (nil: nothing better than SSE exists).
    public static func preferredCore(for level: SIMDLevel, amd: Bool) -> String? {
        switch level {
        case .avx512: return "SkylakeX"
        case .avx2: return amd ? "Zen" : "Haswell"
        case .avx: return "Sandybridge"
        case .sse: return nil
        }
    }

    /// The CPU's SIMD level (CPUID and the operating system's saved register state).
    public static var cpuLevel: SIMDLevel { SIMDLevel(rawValue: Int(explaind_cpu_simd_level())) ?? .sse }

    /// True on AMD (and Hygon) CPUs.
    public static var cpuIsAMD: Bool { explaind_cpu_is_amd() != 0 }

    /// The kernel family OpenBLAS loaded in this process.
    public static var coreInUse: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name).trimmingCharacters(in: .whitespaces)
    }

    /// The environment variable OpenBLAS reads at load time, and the one that marks a process we restarted.
    public static let coreTypeVariable = "OPENBLAS_CORETYPE"
    public static let restartMarker = "EXPLAIND_BLAS_RESTARTED"

    /// What to do about the kernels at start-up.
    public enum Decision: Equatable, Sendable {
        /// The kernels in use match the CPU's level.
        case good
        /// The user chose the kernels with `OPENBLAS_CORETYPE`; kept even when the CPU could do more.
        case userChoice(core: String, cpuBest: String?)
        /// Start the process again with `OPENBLAS_CORETYPE` set to this family.
        case restart(core: String)
        /// A restart already happened and OpenBLAS still runs weaker kernels: go on, and say so.
        case restartDidNotHelp(requested: String, inUse: String)
    }

    /// Decides from the kernels in use, the CPU's level and vendor, the user's `OPENBLAS_CORETYPE` (if any) and
    /// whether this process is already a restart.
    public static func decide(
        coreInUse: String, cpu: SIMDLevel, amd: Bool, userCoreType: String?,
        restarted: Bool
    ) -> Decision {
        let wanted = preferredCore(for: cpu, amd: amd)
        if restarted, let requested = userCoreType {
            return level(ofCore: coreInUse) >= cpu ? .good : .restartDidNotHelp(requested: requested, inUse: coreInUse)
        }
        if let user = userCoreType, !user.isEmpty { return .userChoice(core: coreInUse, cpuBest: wanted) }
        guard level(ofCore: coreInUse) < cpu, let wanted else { return .good }
        return .restart(core: wanted)
    }

    /// The decision for this process.
    public static func decisionForThisProcess() -> Decision {
        let environment = ProcessInfo.processInfo.environment
        return decide(
            coreInUse: coreInUse, cpu: cpuLevel, amd: cpuIsAMD, userCoreType: environment[coreTypeVariable],
            restarted: environment[restartMarker] == "1")
    }

    /// Replaces this process with a fresh copy of itself (same arguments) that has `OPENBLAS_CORETYPE=core`.
    /// Returns only if the exec failed.
    public static func restartWithCore(_ core: String) {
        setenv(coreTypeVariable, core, 1)
        setenv(restartMarker, "1", 1)
        let arguments = CommandLine.arguments
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", &argv)
        for pointer in argv { free(pointer) }
        unsetenv(coreTypeVariable)
        unsetenv(restartMarker)
    }

    /// One line describing the kernels, for logs and `bench`: `OpenBLAS core SkylakeX (AVX-512); CPU: AVX-512`.
    public static var summary: String {
        let core = coreInUse
        let source =
            ProcessInfo.processInfo.environment[coreTypeVariable].flatMap {
                $0.isEmpty ? nil : " via \(coreTypeVariable)=\($0)"
            } ?? ""
        return "OpenBLAS core \(core) (\(level(ofCore: core)))\(source); CPU supports \(cpuLevel)"
    }
}
