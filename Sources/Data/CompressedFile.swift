import CZlib
import Foundation

/// Whole-file reads through zlib, which inflates gzip files and passes other files through unchanged.
public enum CompressedFile {
    /// The file `directory/name`, or else `directory/name.gz`; throws `DataError.missingFile` naming both.
    public static func locate(_ name: String, in directory: String) throws -> String {
        let plain = (directory as NSString).appendingPathComponent(name)
        for candidate in [plain, plain + ".gz"] where FileManager.default.isReadableFile(atPath: candidate) {
            return candidate
        }
        throw DataError.missingFile(path: plain + "[.gz]")
    }

    /// All bytes of `path`, decompressed when it is a gzip file (gzopen/gzread). A truncated or damaged gzip stream
    /// throws `DataError.corruptFile`; a missing file throws `DataError.missingFile`.
    public static func readAll(_ path: String) throws -> [UInt8] {
        guard FileManager.default.isReadableFile(atPath: path) else { throw DataError.missingFile(path: path) }
        guard let file = gzopen(path, "rb") else {
            throw DataError.corruptFile(path: path, reason: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { gzclose(file) }
        gzbuffer(file, 1 << 20)
        var bytes: [UInt8] = []
        let chunk = 1 << 22
        var buffer = [UInt8](repeating: 0, count: chunk)
        while true {
            let read = buffer.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32(chunk)) }
            if read < 0 { throw DataError.corruptFile(path: path, reason: zlibMessage(file)) }
            if read == 0 { break }
            bytes.append(contentsOf: buffer[0..<Int(read)])
        }
        // gzread returns the data it could inflate and flags a truncated stream only through gzerror.
        var status: Int32 = 0
        _ = gzerror(file, &status)
        if status != Z_OK { throw DataError.corruptFile(path: path, reason: zlibMessage(file)) }
        return bytes
    }

    private static func zlibMessage(_ file: gzFile) -> String {
        var status: Int32 = 0
        guard let message = gzerror(file, &status) else { return "zlib error \(status)" }
        return "gzip: " + String(cString: message)
    }
}
