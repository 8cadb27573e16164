import Foundation
import XCTest

@testable import Artifacts

/// A fresh directory under the system temporary directory, removed by `removeTemporaryDirectory`.
func makeTemporaryDirectory(_ function: String = #function) throws -> String {
    let name = "explaind-artifacts-\(function.filter { $0.isLetter || $0.isNumber })-\(UUID().uuidString)"
    let path = (NSTemporaryDirectory() as NSString).appendingPathComponent(name)
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Runs `body` and returns the `ArtifactError` it throws; fails the test if it does not throw one.
func artifactError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> ArtifactError? {
    do {
        try body()
        XCTFail("expected an ArtifactError, nothing was thrown", file: file, line: line)
    } catch let error as ArtifactError {
        XCTAssertFalse(error.description.contains("\n"), "message is not one line: \(error)", file: file, line: line)
        return error
    } catch {
        XCTFail("expected an ArtifactError, got \(error)", file: file, line: line)
    }
    return nil
}
