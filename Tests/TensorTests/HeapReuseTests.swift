import Foundation
import XCTest

@testable import Tensor

final class HeapReuseTests: XCTestCase {
    /// Applied when the user set nothing; left alone when any of glibc's malloc variables is set.
    func testHeapReuseRespectsTheUsersMallocSettings() {
        let saved = HeapReuse.userVariables.map { ($0, ProcessInfo.processInfo.environment[$0]) }
        defer {
            for (name, value) in saved {
                if let value { setenv(name, value, 1) } else { unsetenv(name) }
            }
        }
        for name in HeapReuse.userVariables { unsetenv(name) }
        #if os(Linux)
            XCTAssertTrue(HeapReuse.configure())
        #endif
        for name in HeapReuse.userVariables {
            setenv(name, "1", 1)
            XCTAssertFalse(HeapReuse.configure(), name)
            unsetenv(name)
        }
        // a large block freed and requested again is still usable (no mmap, no trim)
        let count = 64 << 20
        for _ in 0..<2 {
            let block = UnsafeMutablePointer<Float>.allocate(capacity: count)
            block.initialize(repeating: 1, count: count)
            XCTAssertEqual(block[count - 1], 1)
            block.deallocate()
        }
    }
}
