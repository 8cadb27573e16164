import CHDF5

/// Copying between files: attributes and whole datasets of the types this module writes, so a tool can build a new
/// artifact from parts of another (the stored reference companions, docs/ARTIFACTS.md).
extension HDF5Object {
    /// Copies every attribute onto `target`, replacing attributes of the same name there. Strings, integers and
    /// floats, scalar or 1-D, are supported (integers are stored as int64 and floats as float64, as this module
    /// writes them); any other attribute gives an error naming it.
    public func copyAttributes(to target: HDF5Object) throws {
        for name in try attributeNames() {
            let attribute = HDF5Handle.attribute(H5Aopen(objectID, name, ch5_p_default()))
            guard attribute.id >= 0 else { throw libraryError("cannot open attribute '\(name)'") }
            let type = HDF5Handle.type(H5Aget_type(attribute.id))
            let space = HDF5Handle.space(H5Aget_space(attribute.id))
            let scalar = H5Sget_simple_extent_type(space.id) == H5S_SCALAR
            switch H5Tget_class(type.id) {
            case H5T_STRING: try target.setAttribute(name, try stringAttribute(name))
            case H5T_INTEGER:
                let values = try intArrayAttribute(name)
                if scalar, values.count == 1 {
                    try target.setAttribute(name, values[0])
                } else {
                    try target.setAttribute(name, values)
                }
            case H5T_FLOAT:
                let values = try doubleArrayAttribute(name)
                if scalar, values.count == 1 {
                    try target.setAttribute(name, values[0])
                } else {
                    try target.setAttribute(name, values)
                }
            default:
                throw error(
                    .typeMismatch, "attribute '\(name)' has type \(hdf5TypeName(type.id)), which cannot be copied",
                    fix: "store it as a string, integer or float attribute")
            }
        }
    }
}

extension HDF5Group {
    /// Copies the dataset `source` into this group under `name` with its attributes, compressed (see `write`).
    @discardableResult
    public func copyDataset(_ source: HDF5Dataset, as name: String) throws -> HDF5Dataset {
        let shape = try source.shape
        let copy: HDF5Dataset
        switch try source.elementTypeName {
        case Float.typeName: copy = try write(name, try source.read(as: Float.self), shape: shape, compressed: true)
        case Double.typeName: copy = try write(name, try source.read(as: Double.self), shape: shape, compressed: true)
        case Int32.typeName: copy = try write(name, try source.read(as: Int32.self), shape: shape, compressed: true)
        case Int64.typeName: copy = try write(name, try source.read(as: Int64.self), shape: shape, compressed: true)
        case UInt8.typeName: copy = try write(name, try source.read(as: UInt8.self), shape: shape, compressed: true)
        case let other:
            throw source.error(
                .typeMismatch, "has element type \(other), which cannot be copied",
                fix: "store float32/64, int32/64 or uint8 values")
        }
        try source.copyAttributes(to: copy)
        return copy
    }

    /// Whether the member `name` is a group (false for a dataset).
    public func isGroup(_ name: String) throws -> Bool {
        let answer = ch5_is_group(objectID, name)
        guard answer >= 0 else { throw libraryError(child: name, "cannot read object info") }
        return answer == 1
    }
}
