import History

/// Forwards to a history file and throws after a number of steps, like a run killed mid-training.
public final class DyingWriter: HistoryWriter {
    public struct Killed: Error {}
    let inner: HistoryFileWriter
    var remaining: Int

    public init(_ inner: HistoryFileWriter, stepsBeforeDeath: Int) { self.inner = inner; remaining = stepsBeforeDeath }

    public func appendStep(_ step: RecordedStep) throws {
        if remaining == 0 { throw Killed() }
        remaining -= 1
        try inner.appendStep(step)
    }
    public func appendEpoch(_ metrics: EpochMetrics) throws { try inner.appendEpoch(metrics) }
    public func checkpoint(_ state: ResumeState) throws { try inner.checkpoint(state) }
}
