import CHDF5

/// A dataset in an HDF5 file: a row-major array of one `HDF5Scalar` type.
///
/// Fixed-size datasets come from `HDF5Group.write`; extendable ones from `HDF5Group.createExtendable`, which can grow
/// along axis 0 with `append` and be cut back with `truncate(rows:)` (resuming a killed run).
public final class HDF5Dataset: HDF5Object {
    public let file: HDF5File
    public let path: String
    public let objectID: hid_t

    init(id: hid_t, path: String, file: HDF5File) {
        self.file = file
        self.path = path
        self.objectID = id
    }

    deinit { if !file.isClosed { _ = H5Dclose(objectID) } }

    /// Current extent of each axis (`[]` for a scalar).
    public var shape: [Int] {
        get throws {
            try file.checkOpen(object: path)
            let space = HDF5Handle.space(H5Dget_space(objectID))
            guard space.id >= 0, let shape = dataspaceShape(space.id) else { throw libraryError("cannot read shape") }
            return shape
        }
    }

    /// Number of rows (extent of axis 0; 1 for a scalar).
    public var rowCount: Int {
        get throws { try shape.first ?? 1 }
    }

    /// The stored element type in NumPy terms ("float32", "int64", ...).
    public var elementTypeName: String {
        get throws {
            try file.checkOpen(object: path)
            let type = HDF5Handle.type(H5Dget_type(objectID))
            return hdf5TypeName(type.id)
        }
    }

    /// Reads all values (row-major).
    public func read<T: HDF5Scalar>(as type: T.Type) throws -> [T] {
        try requireType(T.self)
        let count = try shape.reduce(1, *)
        guard count > 0 else { return [] }
        return try readValues(count, fileSpace: ch5_s_all(), memorySpace: ch5_s_all(), what: "cannot read")
    }

    /// Reads rows `range` of axis 0 (row-major, `range.count × rowSize` values).
    public func readRows<T: HDF5Scalar>(_ range: Range<Int>, as type: T.Type) throws -> [T] {
        try requireType(T.self)
        let shape = try self.shape
        guard let rows = shape.first else { throw error(.invalidArgument, "a scalar has no rows") }
        guard range.lowerBound >= 0, range.upperBound <= rows else {
            throw error(
                .invalidArgument, "rows \(range) out of range 0..<\(rows)",
                fix: "the file holds fewer steps than requested: re-run or resume the producing step")
        }
        let rowSize = shape.dropFirst().reduce(1, *)
        let count = range.count * rowSize
        guard count > 0 else { return [] }
        let (fileSpace, memorySpace) = try selectRows(range, shape: shape)
        return try withExtendedLifetime((fileSpace, memorySpace)) {
            try readValues(
                count, fileSpace: fileSpace.id, memorySpace: memorySpace.id, what: "cannot read rows \(range)")
        }
    }

    /// Reads `count` values of the selection straight into uninitialised storage. (A zero-filled generic array is
    /// initialised element by element through value witnesses, since these functions are not specialised; that
    /// showed up in EPK profiles as several per cent of the time spent reading checkpoints.)
    private func readValues<T: HDF5Scalar>(
        _ count: Int, fileSpace: hid_t, memorySpace: hid_t, what: String
    ) throws -> [T] {
        var status: herr_t = -1
        let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            status = H5Dread(objectID, T.nativeType, memorySpace, fileSpace, ch5_p_default(), buffer.baseAddress)
            initialized = status >= 0 ? count : 0
        }
        guard status >= 0 else { throw libraryError(what, fix: "re-run the producing step") }
        return values
    }

    /// Appends rows along axis 0 of an extendable dataset; `rows.count` must be a multiple of the row size.
    /// Returns the new row count.
    @discardableResult
    public func append<T: HDF5Scalar>(_ rows: [T]) throws -> Int { try append(rows[...]) }

    /// `append` of a slice, written from the array's own storage (a history step appends slices of θ without
    /// copying them first).
    @discardableResult
    public func append<T: HDF5Scalar>(_ rows: ArraySlice<T>) throws -> Int {
        try requireType(T.self)
        let shape = try self.shape
        try requireExtendable(shape)
        let rowSize = shape.dropFirst().reduce(1, *)
        guard rows.count % rowSize == 0 else {
            throw error(
                .invalidArgument,
                "cannot append \(rows.count) values: not a multiple of the row size \(rowSize) "
                    + "(row shape \(Array(shape.dropFirst())))", fix: "append whole rows")
        }
        let added = rows.count / rowSize
        let oldRows = shape[0]
        guard added > 0 else { return oldRows }
        try setRowCount(oldRows + added)
        let (fileSpace, memorySpace) = try selectRows(
            oldRows..<(oldRows + added), shape: [oldRows + added] + shape.dropFirst())
        let status = rows.withUnsafeBufferPointer {
            H5Dwrite(objectID, T.nativeType, memorySpace.id, fileSpace.id, ch5_p_default(), $0.baseAddress)
        }
        guard status >= 0 else { throw libraryError("cannot append \(added) rows", fix: "check free disk space") }
        return oldRows + added
    }

    /// Cuts an extendable dataset back to its first `rows` rows (e.g. the steps known to be complete when resuming).
    public func truncate(rows: Int) throws {
        let shape = try self.shape
        try requireExtendable(shape)
        guard rows >= 0, rows <= shape[0] else {
            throw error(
                .invalidArgument, "cannot truncate to \(rows) rows: it has \(shape[0])",
                fix: "pass a row count between 0 and the current one")
        }
        try setRowCount(rows)
    }

    // MARK: Helpers

    private func requireType<T: HDF5Scalar>(_: T.Type) throws {
        try file.checkOpen(object: path)
        let stored = HDF5Handle.type(H5Dget_type(objectID))
        let wanted = T.fileType
        let same =
            H5Tget_class(stored.id) == H5Tget_class(wanted) && H5Tget_size(stored.id) == H5Tget_size(wanted)
            && (H5Tget_class(wanted) != H5T_INTEGER || H5Tget_sign(stored.id) == H5Tget_sign(wanted))
        guard same else {
            throw error(
                .typeMismatch, "stores \(hdf5TypeName(stored.id)), not \(T.typeName)",
                fix: "read or write it as the stored type")
        }
    }

    private func requireExtendable(_ shape: [Int]) throws {
        let space = HDF5Handle.space(H5Dget_space(objectID))
        var dims = [hsize_t](repeating: 0, count: shape.count)
        var maxDims = dims
        guard !shape.isEmpty, H5Sget_simple_extent_dims(space.id, &dims, &maxDims) >= 0,
            maxDims[0] == ch5_s_unlimited()
        else {
            throw error(
                .invalidArgument, "is not extendable",
                fix: "create it with createExtendable(_:type:rowShape:chunkRows:) to append or truncate")
        }
    }

    private func setRowCount(_ rows: Int) throws {
        var dims = try shape.map { hsize_t($0) }
        dims[0] = hsize_t(rows)
        guard H5Dset_extent(objectID, &dims) >= 0 else {
            throw libraryError("cannot resize to \(rows) rows", fix: "open the file with mode .create or .readWrite")
        }
    }

    /// File and memory dataspaces selecting rows `range` of a dataset of `shape`.
    private func selectRows(_ range: Range<Int>, shape: [Int]) throws -> (file: HDF5Handle, memory: HDF5Handle) {
        let fileSpace = HDF5Handle.space(H5Dget_space(objectID))
        var start = [hsize_t](repeating: 0, count: shape.count)
        start[0] = hsize_t(range.lowerBound)
        var count = shape.map { hsize_t($0) }
        count[0] = hsize_t(range.count)
        guard fileSpace.id >= 0,
            H5Sselect_hyperslab(fileSpace.id, H5S_SELECT_SET, &start, nil, &count, nil) >= 0
        else {
            throw libraryError("cannot select rows \(range)")
        }
        let memorySpace = HDF5Handle.space(H5Screate_simple(Int32(count.count), &count, nil))
        guard memorySpace.id >= 0 else { throw libraryError("cannot make a dataspace for rows \(range)") }
        return (fileSpace, memorySpace)
    }
}
