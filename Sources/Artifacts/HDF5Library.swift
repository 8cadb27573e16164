import CHDF5

/// Process-wide HDF5 set-up and error capture.
///
/// HDF5 1.10.8 here is the serial (non-thread-safe) build: use one HDF5 file from one thread at a time.
enum HDF5Library {
    /// Opens the library and silences HDF5's automatic printing of its error stack, once per process;
    /// the Swift wrappers report failures as `ArtifactError` instead.
    static let initialized: Void = {
        _ = H5open()
        ch5_silence_errors()
    }()

    /// The innermost message on HDF5's error stack (the most specific cause), or "" if there is none; clears it.
    static func takeLastError() -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        buffer.withUnsafeMutableBufferPointer { ch5_last_error($0.baseAddress, $0.count) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Problem text with HDF5's own explanation appended in brackets when it has one.
    static func problem(_ text: String) -> String {
        let detail = takeLastError()
        return detail.isEmpty ? text : "\(text) [HDF5: \(detail)]"
    }
}

/// A scoped HDF5 identifier closed by the matching `H5*close` when it goes out of scope.
final class HDF5Handle {
    let id: hid_t
    private let closer: (hid_t) -> herr_t

    init(_ id: hid_t, closer: @escaping (hid_t) -> herr_t) {
        self.id = id
        self.closer = closer
    }

    deinit { if id >= 0 { _ = closer(id) } }

    static func space(_ id: hid_t) -> HDF5Handle { HDF5Handle(id, closer: H5Sclose) }
    static func type(_ id: hid_t) -> HDF5Handle { HDF5Handle(id, closer: H5Tclose) }
    static func propertyList(_ id: hid_t) -> HDF5Handle { HDF5Handle(id, closer: H5Pclose) }
    static func attribute(_ id: hid_t) -> HDF5Handle { HDF5Handle(id, closer: H5Aclose) }
}
