import CHDF5
import Foundation

/// Attributes on groups and datasets.
///
/// Writers replace an attribute of the same name. Strings are stored as variable-length UTF-8 (h5py reads them as
/// `str`); `Int` as a scalar int64, `Double` as a scalar float64, arrays as 1-D datasets of those types, and JSON as a
/// string attribute holding the encoded value (keys sorted, so equal values give equal bytes).
extension HDF5Object {
    // MARK: Writing

    /// Sets a variable-length UTF-8 string attribute.
    public func setAttribute(_ name: String, _ value: String) throws {
        try file.checkOpen(object: path)
        let type = HDF5Handle.type(H5Tcopy(ch5_c_s1()))
        guard type.id >= 0, H5Tset_size(type.id, ch5_t_variable()) >= 0,
            H5Tset_cset(type.id, H5T_CSET_UTF8) >= 0
        else {
            throw libraryError("cannot make a string type for attribute '\(name)'")
        }
        let space = HDF5Handle.space(H5Screate(H5S_SCALAR))
        try value.withCString { cString in
            var pointer: UnsafePointer<CChar>? = cString
            try writeAttribute(name, fileType: type.id, memoryType: type.id, space: space.id, data: &pointer)
        }
    }

    /// Sets a scalar int64 attribute.
    public func setAttribute(_ name: String, _ value: Int) throws {
        try file.checkOpen(object: path)
        var stored = Int64(value)
        let space = HDF5Handle.space(H5Screate(H5S_SCALAR))
        try writeAttribute(name, fileType: Int64.fileType, memoryType: Int64.nativeType, space: space.id, data: &stored)
    }

    /// Sets a scalar float64 attribute.
    public func setAttribute(_ name: String, _ value: Double) throws {
        try file.checkOpen(object: path)
        var stored = value
        let space = HDF5Handle.space(H5Screate(H5S_SCALAR))
        try writeAttribute(
            name, fileType: Double.fileType, memoryType: Double.nativeType, space: space.id, data: &stored)
    }

    /// Sets a 1-D float64 attribute (an empty array is stored with extent 0).
    public func setAttribute(_ name: String, _ values: [Double]) throws {
        try setArrayAttribute(name, values)
    }

    /// Sets a 1-D int64 attribute (an empty array is stored with extent 0).
    public func setAttribute(_ name: String, _ values: [Int]) throws {
        try setArrayAttribute(name, values.map { Int64($0) })
    }

    /// Sets a string attribute holding `value` encoded as JSON with sorted keys.
    public func setJSONAttribute<T: Encodable>(_ name: String, _ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data: Data
        do { data = try encoder.encode(value) } catch {
            throw self.error(.invalidArgument, "attribute '\(name)': cannot encode \(T.self) as JSON (\(error))")
        }
        try setAttribute(name, String(decoding: data, as: UTF8.self))
    }

    /// Removes an attribute; does nothing if it does not exist.
    public func removeAttribute(_ name: String) throws {
        try file.checkOpen(object: path)
        let exists = H5Aexists(objectID, name)
        guard exists >= 0 else { throw libraryError("cannot look up attribute '\(name)'") }
        if exists > 0, H5Adelete(objectID, name) < 0 {
            throw libraryError("cannot delete attribute '\(name)'", fix: "open the file with mode .readWrite")
        }
    }

    // MARK: Reading

    /// Whether the attribute exists.
    public func hasAttribute(_ name: String) -> Bool {
        !file.isClosed && H5Aexists(objectID, name) > 0
    }

    /// Names of all attributes, in alphabetical order.
    public func attributeNames() throws -> [String] {
        try file.checkOpen(object: path)
        let count = ch5_attribute_count(objectID)
        guard count >= 0 else { throw libraryError("cannot count attributes") }
        var names: [String] = []
        for index in 0..<hsize_t(count) {
            let length = H5Aget_name_by_idx(objectID, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, ch5_p_default())
            guard length >= 0 else { throw libraryError("cannot read attribute name #\(index)") }
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            _ = H5Aget_name_by_idx(
                objectID, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count,
                ch5_p_default())
            names.append(String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return names
    }

    /// A string attribute (variable- or fixed-length, as written by this module or by h5py).
    public func stringAttribute(_ name: String) throws -> String {
        let attribute = try openAttribute(name)
        let stored = HDF5Handle.type(H5Aget_type(attribute.id))
        guard H5Tget_class(stored.id) == H5T_STRING else {
            throw typeError(name, stored: stored.id, expected: "a string")
        }
        let memory = HDF5Handle.type(H5Tcopy(ch5_c_s1()))
        _ = H5Tset_cset(memory.id, H5Tget_cset(stored.id))
        if H5Tis_variable_str(stored.id) > 0 {
            _ = H5Tset_size(memory.id, ch5_t_variable())
            var pointer: UnsafeMutablePointer<CChar>? = nil
            guard H5Aread(attribute.id, memory.id, &pointer) >= 0 else {
                throw libraryError("cannot read attribute '\(name)'")
            }
            defer { if let pointer { _ = H5free_memory(pointer) } }
            return pointer.map { String(cString: $0) } ?? ""
        }
        let size = H5Tget_size(stored.id)
        _ = H5Tset_size(memory.id, size + 1)
        _ = H5Tset_strpad(memory.id, H5T_STR_NULLTERM)
        var buffer = [CChar](repeating: 0, count: size + 1)
        guard H5Aread(attribute.id, memory.id, &buffer) >= 0 else {
            throw libraryError("cannot read attribute '\(name)'")
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A scalar integer attribute (any stored integer type).
    public func intAttribute(_ name: String) throws -> Int {
        let values = try intArrayAttribute(name)
        guard values.count == 1 else { throw countError(name, count: values.count) }
        return values[0]
    }

    /// A scalar number attribute (stored as any float or integer type).
    public func doubleAttribute(_ name: String) throws -> Double {
        let values = try doubleArrayAttribute(name)
        guard values.count == 1 else { throw countError(name, count: values.count) }
        return values[0]
    }

    /// A 1-D (or scalar, returned as one element) integer attribute.
    public func intArrayAttribute(_ name: String) throws -> [Int] {
        try readNumericAttribute(name, as: Int64.self, accepting: [H5T_INTEGER], expected: "integers").map { Int($0) }
    }

    /// A 1-D (or scalar, returned as one element) number attribute; integers are converted.
    public func doubleArrayAttribute(_ name: String) throws -> [Double] {
        try readNumericAttribute(name, as: Double.self, accepting: [H5T_FLOAT, H5T_INTEGER], expected: "numbers")
    }

    /// Decodes a JSON string attribute written by `setJSONAttribute`.
    public func jsonAttribute<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
        let text = try stringAttribute(name)
        do { return try JSONDecoder().decode(T.self, from: Data(text.utf8)) } catch {
            throw self.error(
                .corrupt, "attribute '\(name)' is not valid JSON for \(T.self) (\(error))",
                fix: "re-run the producing step")
        }
    }

    // MARK: Helpers

    private func setArrayAttribute<T: HDF5Scalar>(_ name: String, _ values: [T]) throws {
        try file.checkOpen(object: path)
        var dims = [hsize_t(values.count)]
        let space = HDF5Handle.space(H5Screate_simple(1, &dims, nil))
        let storage = values.isEmpty ? [T.zero] : values
        try storage.withUnsafeBytes {
            try writeAttribute(
                name, fileType: T.fileType, memoryType: T.nativeType, space: space.id, data: $0.baseAddress!)
        }
    }

    private func writeAttribute(
        _ name: String, fileType: hid_t, memoryType: hid_t, space: hid_t,
        data: UnsafeRawPointer
    ) throws {
        guard space >= 0 else { throw libraryError("cannot make a dataspace for attribute '\(name)'") }
        try removeAttribute(name)
        let attribute = HDF5Handle.attribute(
            H5Acreate2(
                objectID, name, fileType, space, ch5_p_default(),
                ch5_p_default()))
        guard attribute.id >= 0 else {
            throw libraryError(
                "cannot create attribute '\(name)'", fix: "open the file with mode .create or .readWrite")
        }
        guard H5Awrite(attribute.id, memoryType, data) >= 0 else {
            throw libraryError("cannot write attribute '\(name)'")
        }
    }

    private func openAttribute(_ name: String) throws -> HDF5Handle {
        try file.checkOpen(object: path)
        guard H5Aexists(objectID, name) > 0 else {
            let known = (try? attributeNames())?.joined(separator: ", ") ?? ""
            throw error(
                .notFound, "no attribute '\(name)' (it has: \(known.isEmpty ? "none" : known))",
                fix: "re-run the producing step with this version of the software")
        }
        let attribute = HDF5Handle.attribute(H5Aopen(objectID, name, ch5_p_default()))
        guard attribute.id >= 0 else { throw libraryError("cannot open attribute '\(name)'") }
        return attribute
    }

    private func readNumericAttribute<T: HDF5Scalar>(
        _ name: String, as: T.Type, accepting classes: [H5T_class_t],
        expected: String
    ) throws -> [T] {
        let attribute = try openAttribute(name)
        let stored = HDF5Handle.type(H5Aget_type(attribute.id))
        guard classes.contains(H5Tget_class(stored.id)) else {
            throw typeError(name, stored: stored.id, expected: expected)
        }
        let space = HDF5Handle.space(H5Aget_space(attribute.id))
        let count = H5Sget_simple_extent_npoints(space.id)
        guard count >= 0 else { throw libraryError("cannot read the extent of attribute '\(name)'") }
        if count == 0 { return [] }
        var values = [T](repeating: T.zero, count: Int(count))
        let status = values.withUnsafeMutableBytes { H5Aread(attribute.id, T.nativeType, $0.baseAddress) }
        guard status >= 0 else {
            throw libraryError("cannot read attribute '\(name)' as \(T.typeName)")
        }
        return values
    }

    private func typeError(_ name: String, stored: hid_t, expected: String) -> ArtifactError {
        error(
            .typeMismatch, "attribute '\(name)' holds \(hdf5TypeName(stored)), expected \(expected)",
            fix: "read it with the matching accessor or re-run the producing step")
    }

    private func countError(_ name: String, count: Int) -> ArtifactError {
        error(
            .shapeMismatch, "attribute '\(name)' holds \(count) values, expected 1",
            fix: "read it with the array accessor")
    }
}
