import CHDF5

/// A group in an HDF5 file: a directory of groups and datasets.
///
/// Names passed to its methods are relative to the group and may be nested ("a/b/c"); creating a nested name
/// creates the missing intermediate groups.
public final class HDF5Group: HDF5Object {
    public let file: HDF5File
    public let path: String
    public let objectID: hid_t

    /// Opens the existing group at `path` (absolute).
    init(openingGroup path: String, in file: HDF5File) throws {
        try file.checkOpen(object: path)
        let id = H5Gopen2(file.fileID, path, ch5_p_default())
        guard id >= 0 else {
            throw ArtifactError(
                .typeMismatch, file: file.path, object: path,
                problem: HDF5Library.problem("is not a group"), fix: "check the path")
        }
        self.file = file
        self.path = path
        self.objectID = id
    }

    private init(id: hid_t, path: String, file: HDF5File) {
        self.file = file
        self.path = path
        self.objectID = id
    }

    deinit { if !file.isClosed { _ = H5Gclose(objectID) } }

    // MARK: Groups

    /// Creates a new group (and any missing parents); throws if something already exists under that name.
    @discardableResult
    public func createGroup(_ name: String) throws -> HDF5Group {
        try requireAbsent(name)
        let linkList = try intermediateGroupLinkList()
        let id = H5Gcreate2(objectID, name, linkList.id, ch5_p_default(), ch5_p_default())
        guard id >= 0 else {
            throw libraryError(child: name, "cannot create group", fix: "open the file with mode .create or .readWrite")
        }
        return HDF5Group(id: id, path: joinPath(path, name), file: file)
    }

    /// Opens an existing group; the error names the full missing path and lists what the parent holds.
    public func group(_ name: String) throws -> HDF5Group {
        try requirePresent(name, what: "group")
        return try HDF5Group(openingGroup: joinPath(path, name), in: file)
    }

    /// Opens the group if it exists, creates it (and missing parents) otherwise.
    public func openOrCreateGroup(_ name: String) throws -> HDF5Group {
        contains(name) ? try group(name) : try createGroup(name)
    }

    /// Whether a group or dataset exists at `path` (relative, possibly nested "a/b/c", or absolute).
    /// Each level is checked in turn, so a missing parent gives `false` rather than an error.
    public func contains(_ path: String) -> Bool {
        guard !file.isClosed else { return false }
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        guard !components.isEmpty else { return true }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in components {
            prefix += (prefix.isEmpty || prefix == "/") ? String(component) : "/" + component
            if H5Lexists(objectID, prefix, ch5_p_default()) <= 0 { return false }
        }
        return true
    }

    /// Names of the direct members (groups and datasets), in alphabetical order.
    public func memberNames() throws -> [String] {
        try file.checkOpen(object: path)
        var info = H5G_info_t()
        guard H5Gget_info(objectID, &info) >= 0 else { throw libraryError("cannot list members") }
        var names: [String] = []
        for index in 0..<info.nlinks {
            let length = H5Lget_name_by_idx(objectID, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, ch5_p_default())
            guard length >= 0 else { throw libraryError("cannot read member name #\(index)") }
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            _ = H5Lget_name_by_idx(
                objectID, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count,
                ch5_p_default())
            names.append(String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return names
    }

    /// Deletes the link to a group or dataset. (HDF5 does not reclaim the space inside the file.)
    public func remove(_ name: String) throws {
        try requirePresent(name, what: "object")
        guard H5Ldelete(objectID, name, ch5_p_default()) >= 0 else {
            throw libraryError(child: name, "cannot delete", fix: "open the file with mode .readWrite")
        }
    }

    // MARK: Datasets

    /// Writes a new fixed-size dataset of `shape` (row-major; `[]` is a scalar) holding `values`.
    /// Throws if the shape does not match the count, or if the name is taken. With `compressed`, a non-empty array is
    /// stored in chunks of at most about 1 MiB through the shuffle and deflate filters (any HDF5 reader, h5py
    /// included, decompresses it transparently).
    @discardableResult
    public func write<T: HDF5Scalar>(
        _ name: String, _ values: [T], shape: [Int], compressed: Bool = false
    ) throws -> HDF5Dataset {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw error(.invalidArgument, child: name, "negative extent in shape \(shape)")
        }
        let needed = shape.reduce(1, *)
        guard needed == values.count else {
            throw error(
                .invalidArgument, child: name, "shape \(shape) needs \(needed) values, got \(values.count)",
                fix: "pass values and a shape that agree")
        }
        try requireAbsent(name)
        var dims = shape.map { hsize_t($0) }
        let space = HDF5Handle.space(
            shape.isEmpty ? H5Screate(H5S_SCALAR) : H5Screate_simple(Int32(shape.count), &dims, nil))
        let creationList =
            try compressed ? compressedCreationList(shape: shape, elementSize: MemoryLayout<T>.size) : nil
        let dataset = try createDataset(
            name, type: T.self, space: space.id, creationList: creationList?.id ?? ch5_p_default())
        if !values.isEmpty {
            let status = values.withUnsafeBufferPointer {
                H5Dwrite(dataset.objectID, T.nativeType, ch5_s_all(), ch5_s_all(), ch5_p_default(), $0.baseAddress)
            }
            guard status >= 0 else {
                throw libraryError(child: name, "cannot write dataset", fix: "check free disk space")
            }
        }
        return dataset
    }

    /// Creates an empty chunked dataset of shape (0, rowShape...) whose first axis is unlimited, for streaming rows
    /// with `HDF5Dataset.append`. `chunkRows` rows form one chunk (the unit HDF5 reads and writes).
    @discardableResult
    public func createExtendable<T: HDF5Scalar>(
        _ name: String, type: T.Type, rowShape: [Int],
        chunkRows: Int
    ) throws -> HDF5Dataset {
        guard rowShape.allSatisfy({ $0 > 0 }), chunkRows > 0 else {
            throw error(
                .invalidArgument, child: name,
                "row shape \(rowShape) and chunk rows \(chunkRows) must all be positive")
        }
        try requireAbsent(name)
        var dims = [hsize_t(0)] + rowShape.map { hsize_t($0) }
        var maxDims = [ch5_s_unlimited()] + rowShape.map { hsize_t($0) }
        var chunk = [hsize_t(chunkRows)] + rowShape.map { hsize_t($0) }
        let space = HDF5Handle.space(H5Screate_simple(Int32(dims.count), &dims, &maxDims))
        let creationList = HDF5Handle.propertyList(H5Pcreate(ch5_p_dataset_create()))
        guard creationList.id >= 0, H5Pset_chunk(creationList.id, Int32(chunk.count), &chunk) >= 0 else {
            throw libraryError(child: name, "cannot set chunk shape \(chunk)")
        }
        return try createDataset(name, type: T.self, space: space.id, creationList: creationList.id)
    }

    /// Opens an existing dataset; the error names the full missing path and lists what the parent holds.
    public func dataset(_ name: String) throws -> HDF5Dataset {
        try requirePresent(name, what: "dataset")
        let fullPath = joinPath(path, name)
        let id = H5Dopen2(objectID, name, ch5_p_default())
        guard id >= 0 else {
            throw error(.typeMismatch, child: name, HDF5Library.problem("is not a dataset"), fix: "check the path")
        }
        return HDF5Dataset(id: id, path: fullPath, file: file)
    }

    /// Reads a whole dataset with its shape.
    public func read<T: HDF5Scalar>(_ name: String, as type: T.Type) throws -> (values: [T], shape: [Int]) {
        let dataset = try self.dataset(name)
        return (try dataset.read(as: T.self), try dataset.shape)
    }

    /// Reads a whole dataset and checks its shape; a mismatch names both shapes.
    public func readExpecting<T: HDF5Scalar>(
        _ name: String, shape expected: [Int], as type: T.Type = T.self
    ) throws -> [T] {
        let dataset = try self.dataset(name)
        let shape = try dataset.shape
        guard shape == expected else {
            throw error(
                .shapeMismatch, child: name, "has shape \(shape), expected \(expected)",
                fix: "the file was written for a different model or config: re-run the producing step")
        }
        return try dataset.read(as: T.self)
    }

    // MARK: Helpers

    private func createDataset<T: HDF5Scalar>(
        _ name: String, type: T.Type, space: hid_t,
        creationList: hid_t
    ) throws -> HDF5Dataset {
        guard space >= 0 else { throw libraryError(child: name, "cannot make a dataspace") }
        let linkList = try intermediateGroupLinkList()
        let id = H5Dcreate2(objectID, name, T.fileType, space, linkList.id, creationList, ch5_p_default())
        guard id >= 0 else {
            throw libraryError(
                child: name, "cannot create dataset", fix: "open the file with mode .create or .readWrite")
        }
        return HDF5Dataset(id: id, path: joinPath(path, name), file: file)
    }

    /// Chunked + shuffle + deflate creation properties for `shape`, or nil where HDF5 cannot chunk (a scalar or an
    /// empty extent). The chunk halves the largest axis until it holds at most 1 MiB.
    private func compressedCreationList(shape: [Int], elementSize: Int) throws -> HDF5Handle? {
        guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 }) else { return nil }
        var chunk = shape
        while chunk.reduce(elementSize, *) > 1 << 20, let axis = chunk.indices.max(by: { chunk[$0] < chunk[$1] }),
            chunk[axis] > 1
        {
            chunk[axis] = (chunk[axis] + 1) / 2
        }
        var dims = chunk.map { hsize_t($0) }
        let list = HDF5Handle.propertyList(H5Pcreate(ch5_p_dataset_create()))
        guard list.id >= 0, H5Pset_chunk(list.id, Int32(dims.count), &dims) >= 0, H5Pset_shuffle(list.id) >= 0,
            H5Pset_deflate(list.id, 6) >= 0
        else {
            throw libraryError("cannot set up compression (chunk \(chunk))")
        }
        return list
    }

    private func intermediateGroupLinkList() throws -> HDF5Handle {
        let list = HDF5Handle.propertyList(H5Pcreate(ch5_p_link_create()))
        guard list.id >= 0, H5Pset_create_intermediate_group(list.id, 1) >= 0 else {
            throw libraryError("cannot set up link creation")
        }
        return list
    }

    private func requireAbsent(_ name: String) throws {
        try file.checkOpen(object: joinPath(path, name))
        if contains(name) {
            throw error(
                .alreadyExists, child: name, "already exists",
                fix: "remove it first or write to a new file")
        }
    }

    private func requirePresent(_ name: String, what: String) throws {
        try file.checkOpen(object: joinPath(path, name))
        guard contains(name) else {
            let members = (try? memberNames())?.joined(separator: ", ") ?? ""
            throw error(
                .notFound, child: name,
                "no such \(what) (\(path) has: \(members.isEmpty ? "nothing" : members))",
                fix: "check the name or re-run the producing step")
        }
    }
}
