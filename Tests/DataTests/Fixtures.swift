import CZlib
import Foundation
import XCTest

/// Temporary folders, small generated data files, and the location of the workbench's shared data.
enum Fixtures {
    /// A fresh empty directory under the system temporary folder.
    static func temporaryDirectory() throws -> String {
        let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("explaind-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Writes `bytes` to `path` as is.
    static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// Writes `bytes` to `path` gzip-compressed (zlib's gzwrite).
    static func writeGzip(_ bytes: [UInt8], to path: String) throws {
        guard let file = gzopen(path, "wb") else { throw CocoaError(.fileWriteUnknown) }
        let written = bytes.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32($0.count)) }
        guard gzclose(file) == Z_OK, Int(written) == bytes.count else { throw CocoaError(.fileWriteUnknown) }
    }

    /// The big-endian bytes of `value`.
    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
    }

    /// The package root (three levels above this file: Tests/DataTests/Fixtures.swift).
    static var packageRoot: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }

    /// `../shared/data` next to the package root, or an XCTSkip saying it is absent.
    static func sharedData(_ subfolder: String) throws -> String {
        let path = ((packageRoot as NSString).appendingPathComponent("../shared/data/\(subfolder)") as NSString)
            .standardizingPath
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw XCTSkip("shared data folder \(path) is absent; this test needs the workbench's copy of \(subfolder)")
        }
        return path
    }
}
