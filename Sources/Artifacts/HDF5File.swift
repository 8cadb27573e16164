import CHDF5
import Foundation

/// An open HDF5 file (HDF5 1.10, serial build: one thread at a time per process).
///
/// Groups and datasets opened from it keep it alive; `close()` (or the last reference going away) closes the file
/// and every object still open in it ("strong" close degree), so later use of those objects throws.
public final class HDF5File {
    /// How to open a file.
    public enum Mode: Sendable {
        /// Create a new file, replacing any existing one (parent directories are created as needed).
        case create
        /// Open an existing file read-only.
        case read
        /// Open an existing file for reading and writing (e.g. to resume a run).
        case readWrite
    }

    /// The path as given by the caller; used in every error message.
    public let path: String
    public let mode: Mode
    /// The HDF5 file identifier, or -1 once closed.
    public private(set) var fileID: hid_t

    /// Opens or creates `path`. A missing file, a file that is not HDF5, and a truncated or corrupt file each give
    /// a one-line `ArtifactError`.
    public init(path: String, mode: Mode) throws {
        HDF5Library.initialized
        self.path = path
        self.mode = mode
        let accessList = HDF5Handle.propertyList(H5Pcreate(ch5_p_file_access()))
        guard accessList.id >= 0, H5Pset_fclose_degree(accessList.id, H5F_CLOSE_STRONG) >= 0 else {
            throw ArtifactError(.io, file: path, problem: HDF5Library.problem("cannot set up HDF5 file access"))
        }
        switch mode {
        case .create:
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                do {
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                } catch {
                    throw ArtifactError(
                        .io, file: path, problem: "cannot create directory \(directory)",
                        fix: "check permissions or choose another --out")
                }
            }
            fileID = H5Fcreate(path, ch5_f_acc_trunc(), ch5_p_default(), accessList.id)
            guard fileID >= 0 else {
                throw ArtifactError(
                    .io, file: path, problem: HDF5Library.problem("cannot create HDF5 file"),
                    fix: "check that the directory is writable and the file is not open elsewhere")
            }
        case .read, .readWrite:
            guard FileManager.default.fileExists(atPath: path) else {
                throw ArtifactError(
                    .notFound, file: path, problem: "no such file",
                    fix: "run the producing step first or check the path")
            }
            let flags = mode == .read ? ch5_f_acc_rdonly() : ch5_f_acc_rdwr()
            fileID = H5Fopen(path, flags, accessList.id)
            guard fileID >= 0 else {
                throw ArtifactError(
                    .corrupt, file: path,
                    problem: HDF5Library.problem("not a readable HDF5 file (truncated or corrupt?)"),
                    fix: "re-run the producing step")
            }
        }
    }

    deinit { close() }

    /// Whether `close()` has been called.
    public var isClosed: Bool { fileID < 0 }

    /// The root group "/".
    public var root: HDF5Group {
        get throws { try HDF5Group(openingGroup: "/", in: self) }
    }

    /// Writes buffered data to disk, so a run killed afterwards keeps everything written so far.
    public func flush() throws {
        try checkOpen(object: "/")
        guard H5Fflush(fileID, H5F_SCOPE_GLOBAL) >= 0 else {
            throw ArtifactError(
                .io, file: path, problem: HDF5Library.problem("cannot flush"),
                fix: "check free disk space")
        }
    }

    /// Closes the file and every object still open in it. Calling it again does nothing.
    public func close() {
        guard fileID >= 0 else { return }
        _ = H5Fclose(fileID)
        fileID = -1
    }

    /// Throws a clear error when an object of this file is used after `close()`.
    func checkOpen(object: String) throws {
        if isClosed {
            throw ArtifactError(
                .invalidArgument, file: path, object: object, problem: "the file is closed",
                fix: "keep the HDF5File open while its groups and datasets are in use")
        }
    }
}
