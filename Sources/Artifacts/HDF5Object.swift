import CHDF5

/// Common ground of `HDF5Group` and `HDF5Dataset`: both live in a file at an absolute path and carry attributes
/// (see `HDF5Object+Attributes.swift`).
public protocol HDF5Object: AnyObject {
    /// The file this object belongs to (kept alive by the object).
    var file: HDF5File { get }
    /// Absolute path inside the file, e.g. "/params/fc1.weight".
    var path: String { get }
    /// The raw HDF5 identifier; valid while the file is open.
    var objectID: hid_t { get }
}

extension HDF5Object {
    /// An error about this object (or about `child` below it), in the module's one-line format.
    func error(_ kind: ArtifactError.Kind, child: String? = nil, _ problem: String, fix: String = "") -> ArtifactError {
        ArtifactError(
            kind, file: file.path, object: child.map { joinPath(path, $0) } ?? path, problem: problem, fix: fix)
    }

    /// An error for a failed HDF5 call, with HDF5's own explanation appended.
    func libraryError(child: String? = nil, _ problem: String, fix: String = "") -> ArtifactError {
        error(.io, child: child, HDF5Library.problem(problem), fix: fix)
    }
}

/// "/a" + "b" → "/a/b"; absolute `child` paths are returned unchanged.
func joinPath(_ parent: String, _ child: String) -> String {
    if child.hasPrefix("/") { return child }
    return parent.hasSuffix("/") ? parent + child : parent + "/" + child
}

/// The extent of each axis of a dataspace (empty for a scalar or null dataspace).
func dataspaceShape(_ space: hid_t) -> [Int]? {
    let rank = H5Sget_simple_extent_ndims(space)
    guard rank >= 0 else { return nil }
    var dims = [hsize_t](repeating: 0, count: Int(rank))
    guard H5Sget_simple_extent_dims(space, &dims, nil) >= 0 else { return nil }
    return dims.map { Int($0) }
}
