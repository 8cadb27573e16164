import Artifacts
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs one stage's executable as a child of `reproduce`, so that stopping `reproduce` stops the stage too:
/// SIGINT, SIGTERM and SIGHUP received while a stage runs are forwarded to the child (and its process group when it
/// leads one), and `reproduce` fails after the child has exited, instead of leaving an orphan that races the next run
/// on the same output folder. A stage that dies of a signal is reported with the signal's name, not as an exit status.
/// (SIGKILL cannot be caught: an orphan left by `kill -9` keeps its output folder's lock, so the next run refuses
/// with a line naming its pid; see docs/RELIABILITY.md.)
public enum StageProcess {
    /// Signals forwarded to the running stage.
    static let forwarded: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// The conventional name of a signal number ("SIGKILL"), or "signal n".
    public static func signalName(_ s: Int32) -> String {
        let names: [Int32: String] = [
            SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL",
            SIGTRAP: "SIGTRAP", SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE",
            SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV", SIGPIPE: "SIGPIPE", SIGTERM: "SIGTERM",
        ]
        return names[s] ?? "signal \(s)"
    }

    /// The one-line error for a stage that did not exit 0.
    public static func failure(stage: Stage, signal: Int32?, status: Int32, forwarded: Int32?) -> ArtifactError {
        let command = "\(stage.executable) --config \(stage.config)"
        if let s = signal {
            let cause =
                forwarded.map { "reproduce received \(signalName($0)) and passed it on" }
                ?? "it was killed from outside or crashed"
            return ArtifactError(
                .io,
                "stage '\(stage.name)' (\(command)) was killed by signal \(s) (\(signalName(s))): \(cause); its artifact is not written, so the next run starts it again"
            )
        }
        if let f = forwarded {
            return ArtifactError(
                .io,
                "stage '\(stage.name)' (\(command)) stopped with status \(status) after reproduce received \(signalName(f)) and passed it on; run reproduce again to continue"
            )
        }
        return ArtifactError(
            .io, "stage '\(stage.name)' (\(command)) exited with status \(status); see its error line above")
    }

    /// Runs the stage and waits; throws `failure(...)` unless it exits 0.
    public static func run(_ stage: Stage, binDirectory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binDirectory + "/" + stage.executable)
        process.arguments = ["--config", stage.config] + (stage.arguments ?? [])
        stageSignal = 0
        stageChild = 0
        for s in forwarded { signal(s, forwardToStage) }
        defer {
            for s in forwarded { signal(s, SIG_DFL) }
            stageChild = 0
        }
        try process.run()
        stageChild = process.processIdentifier
        if stageSignal != 0 { forwardToStage(stageSignal) }  // a signal that came while the child was starting
        process.waitUntilExit()
        let bySignal = process.terminationReason == .uncaughtSignal
        let received = stageSignal == 0 ? nil : stageSignal
        if bySignal || process.terminationStatus != 0 || received != nil {
            throw failure(
                stage: stage, signal: bySignal ? process.terminationStatus : nil,
                status: process.terminationStatus, forwarded: received)
        }
    }
}

/// The running stage's pid and the first signal received, shared with the signal handler (plain word-sized
/// globals, written before the handler is installed or by the handler itself).
nonisolated(unsafe) private var stageChild: pid_t = 0
nonisolated(unsafe) private var stageSignal: Int32 = 0

/// Signal handler: remembers the signal and passes it on to the stage (and its process group when it leads one).
/// Only async-signal-safe calls.
private func forwardToStage(_ s: Int32) {
    if stageSignal == 0 { stageSignal = s }
    let pid = stageChild
    guard pid > 0 else { return }
    if getpgid(pid) == pid { _ = kill(-pid, s) } else { _ = kill(pid, s) }
}
