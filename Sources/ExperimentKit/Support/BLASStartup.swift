import Artifacts
import Tensor

/// The first call of every executable that does numerical work: makes sure OpenBLAS runs the best kernels the CPU
/// supports before any product is computed (see `BLASKernels`), and keeps freed buffers for reuse (`HeapReuse`).
///
/// When OpenBLAS fell back to weaker kernels and the user did not choose any, the process restarts itself once with
/// `OPENBLAS_CORETYPE` set, after one log line. A user's own `OPENBLAS_CORETYPE` is kept as it is.
public func ensureBestBLASKernels() {
    HeapReuse.configure()
    switch BLASKernels.decisionForThisProcess() {
    case .good, .userChoice:
        return
    case .restart(let core):
        Log.info(
            "OpenBLAS chose \(BLASKernels.coreInUse) kernels on a CPU with \(BLASKernels.cpuLevel); "
                + "restarting with \(BLASKernels.coreTypeVariable)=\(core)")
        BLASKernels.restartWithCore(core)
        Log.warn(
            "could not restart with \(BLASKernels.coreTypeVariable)=\(core); continuing with the "
                + "\(BLASKernels.coreInUse) kernels (set \(BLASKernels.coreTypeVariable)=\(core) yourself to fix it)")
    case .restartDidNotHelp(let requested, let inUse):
        Log.warn(
            "\(BLASKernels.coreTypeVariable)=\(requested) left OpenBLAS on its \(inUse) kernels, below what the "
                + "CPU supports (\(BLASKernels.cpuLevel)); products will be slow")
    }
}
