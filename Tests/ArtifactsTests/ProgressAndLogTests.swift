import XCTest

@testable import Artifacts

final class ProgressAndLogTests: XCTestCase {
    func testLineFormat() {
        XCTAssertEqual(
            Progress.formatLine(
                label: "train", done: 120, total: 1940, status: "loss 0.52 acc 0.98",
                elapsed: 120 / 3.1),
            "train  120/1940 [ 6%] loss 0.52 acc 0.98 | 3.1 it/s ETA 9m47s")
        XCTAssertEqual(
            Progress.formatLine(label: "epk", done: 0, total: 5, status: "", elapsed: 0),
            "epk 0/5 [ 0%] | -- it/s ETA --")
        XCTAssertEqual(
            Progress.formatLine(label: "epk", done: 5, total: 5, status: "", elapsed: 3725, final: true),
            "epk 5/5 [100%] | 745.0 s/it done in 1h02m")
        XCTAssertEqual(Progress.formatRate(250.4), "250 it/s")
        XCTAssertEqual(Progress.formatDuration(45.4), "45s")
        XCTAssertEqual(Progress.formatDuration(600), "10m00s")
    }

    func testThrottlingAndFinish() {
        var now = 0.0
        var lines: [(String, Bool)] = []
        let progress = Progress(
            label: "train", total: 10, minimumInterval: 1, clock: { now },
            output: { lines.append(($0, $1)) })
        now = 0.1; progress.advance(status: "loss 1.00")  // first call prints
        now = 0.5; progress.advance(status: "loss 0.90")  // throttled
        now = 0.9; progress.advance(status: "loss 0.80")  // throttled
        now = 2.0; progress.advance(by: 3, status: "loss 0.50")  // prints
        now = 4.0; progress.advance(by: 100)  // clamps to total
        progress.finish(status: "loss 0.10")
        XCTAssertEqual(
            lines.map(\.0),
            [
                "train  1/10 [10%] loss 1.00 | 10.0 it/s ETA 1s",
                "train  6/10 [60%] loss 0.50 | 3.0 it/s ETA 1s",
                "train 10/10 [100%] | 2.5 it/s ETA 0s",
                "train 10/10 [100%] loss 0.10 | 2.5 it/s done in 4s",
            ])
        XCTAssertEqual(lines.map(\.1), [false, false, false, true])
    }

    func testLogHonoursQuietAndFormatsLevel() {
        let savedQuiet = Log.quiet, savedOutput = Log.output
        defer { Log.quiet = savedQuiet; Log.output = savedOutput }
        var captured: [String] = []
        Log.output = { captured.append($0) }
        Log.quiet = true
        Log.info("hidden")
        XCTAssertEqual(captured, [])
        Log.quiet = false
        Log.warn("resuming from step 40")
        Log.error("bad")
        XCTAssertEqual(captured.count, 2)
        XCTAssertTrue(captured[0].hasSuffix("] warning: resuming from step 40"), captured[0])
        XCTAssertTrue(captured[1].hasSuffix("] error: bad"), captured[1])
        XCTAssertTrue(captured[0].range(of: #"^\[\d\d:\d\d:\d\d\] "#, options: .regularExpression) != nil)
    }
}
