import CHDF5

/// A Swift element type that maps one-to-one onto an HDF5 numeric type.
///
/// `nativeType` is the in-memory type passed to `H5Dread`/`H5Dwrite`; `fileType` is the explicit little-endian type
/// stored in the file (what h5py reports as `float32`, `int64`, `uint8`, ...). Reading is strict: the stored type must
/// have the same class, size and signedness as the requested one, so a float64 dataset is never silently narrowed.
public protocol HDF5Scalar: Sendable {
    /// Memory type (`H5T_NATIVE_*`).
    static var nativeType: hid_t { get }
    /// Storage type written to files (`H5T_IEEE_F32LE`, `H5T_STD_I64LE`, ...).
    static var fileType: hid_t { get }
    /// NumPy-style name used in messages: `float32`, `int64`, ...
    static var typeName: String { get }
    /// Zero, for allocating read buffers.
    static var zero: Self { get }
}

extension Float: HDF5Scalar {
    public static var nativeType: hid_t { ch5_native_float() }
    public static var fileType: hid_t { ch5_ieee_f32le() }
    public static var typeName: String { "float32" }
}

extension Double: HDF5Scalar {
    public static var nativeType: hid_t { ch5_native_double() }
    public static var fileType: hid_t { ch5_ieee_f64le() }
    public static var typeName: String { "float64" }
}

extension Int32: HDF5Scalar {
    public static var nativeType: hid_t { ch5_native_int32() }
    public static var fileType: hid_t { ch5_std_i32le() }
    public static var typeName: String { "int32" }
}

extension Int64: HDF5Scalar {
    public static var nativeType: hid_t { ch5_native_int64() }
    public static var fileType: hid_t { ch5_std_i64le() }
    public static var typeName: String { "int64" }
}

extension UInt8: HDF5Scalar {
    public static var nativeType: hid_t { ch5_native_uint8() }
    public static var fileType: hid_t { ch5_std_u8le() }
    public static var typeName: String { "uint8" }
}

/// Describes a stored HDF5 datatype in NumPy terms (`float32`, `int64`, `string`, ...), for messages.
func hdf5TypeName(_ type: hid_t) -> String {
    let size = H5Tget_size(type)
    switch H5Tget_class(type) {
    case H5T_FLOAT: return "float\(size * 8)"
    case H5T_INTEGER: return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + "\(size * 8)"
    case H5T_STRING: return "string"
    case H5T_COMPOUND: return "compound"
    default: return "an unsupported type"
    }
}
