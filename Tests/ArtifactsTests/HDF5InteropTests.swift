import XCTest

@testable import Artifacts

/// Files written here must be readable by h5py (Debian's python3-h5py, through /usr/bin/python3).
final class HDF5InteropTests: XCTestCase {
    static let python = "/usr/bin/python3"

    /// Runs `python -c script arguments...`; returns (status, stdout, stderr).
    func runPython(_ script: String, _ arguments: [String]) throws -> (Int32, String, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = ["-c", script] + arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let outData = output.fileHandleForReading.readDataToEndOfFile()
        let errData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (
            process.terminationStatus, String(decoding: outData, as: UTF8.self),
            String(decoding: errData, as: UTF8.self)
        )
    }

    func testH5pyReadsShapesTypesValuesAndAttributes() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python),
            (try? runPython("import h5py", []))?.0 == 0
        else {
            throw XCTSkip(
                "h5py interop not tested: `/usr/bin/python3 -c \"import h5py\"` fails (apt install python3-h5py)")
        }
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/interop.h5"
        do {
            let file = try HDF5File(path: path, mode: .create)
            let root = try file.root
            try root.write("floats", [Float(0.5), -1.25, 2, 3, 4, 5], shape: [2, 3])
            try root.write("doubles", [Double.pi], shape: [])
            try root.write("bytes", [UInt8(0), 200, 255], shape: [3])
            let stream = try root.createExtendable("history/indices", type: Int64.self, rowShape: [2], chunkRows: 8)
            try stream.append([Int64(1), 2, 3, 4, 5, 6])
            try stream.truncate(rows: 2)
            try root.group("history").write("steps", [Int32(-7), 8], shape: [2])
            try root.setAttribute("title", "ExPLAIND ü")
            try root.setAttribute("steps", 1940)
            try root.setAttribute("lr", 0.125)
            try root.setAttribute("betas", [0.9, 0.999])
            try root.setAttribute("dims", [784, 10])
            try root.setJSONAttribute("config", ["seed": 3])
            try stream.setAttribute("unit", "index")
            file.close()
        }
        let script = """
            import h5py, json, sys
            def plain(v):
                if isinstance(v, bytes): return {"bytes": v.decode()}
                if hasattr(v, "tolist"): v = v.tolist()
                return {"type": type(v).__name__, "value": v}
            out = {"datasets": {}, "attributes": {}}
            with h5py.File(sys.argv[1], "r") as f:
                def visit(name, obj):
                    if isinstance(obj, h5py.Dataset):
                        out["datasets"][name] = {"shape": list(obj.shape), "dtype": str(obj.dtype),
                            "values": obj[()].tolist(), "maxshape": [m if m is not None else -1 for m in obj.maxshape],
                            "attrs": {k: plain(v) for k, v in obj.attrs.items()}}
                f.visititems(visit)
                out["attributes"] = {k: plain(v) for k, v in f.attrs.items()}
            print(json.dumps(out, sort_keys=True))
            """
        let (status, output, errors) = try runPython(script, [path])
        XCTAssertEqual(status, 0, errors)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        let datasets = try XCTUnwrap(json["datasets"] as? [String: [String: Any]])
        XCTAssertEqual(Set(datasets.keys), ["floats", "doubles", "bytes", "history/indices", "history/steps"])

        func check(
            _ name: String, shape: [Int], dtype: String, values: String, file: StaticString = #filePath,
            line: UInt = #line
        ) throws {
            let entry = try XCTUnwrap(datasets[name], file: file, line: line)
            XCTAssertEqual(entry["shape"] as? [Int], shape, name, file: file, line: line)
            XCTAssertEqual(entry["dtype"] as? String, dtype, name, file: file, line: line)
            let encoded = try JSONSerialization.data(withJSONObject: entry["values"]!, options: [.fragmentsAllowed])
            XCTAssertEqual(String(decoding: encoded, as: UTF8.self), values, name, file: file, line: line)
        }
        try check("floats", shape: [2, 3], dtype: "float32", values: "[[0.5,-1.25,2],[3,4,5]]")
        try check("doubles", shape: [], dtype: "float64", values: "3.141592653589793")
        try check("bytes", shape: [3], dtype: "uint8", values: "[0,200,255]")
        try check("history/indices", shape: [2, 2], dtype: "int64", values: "[[1,2],[3,4]]")
        try check("history/steps", shape: [2], dtype: "int32", values: "[-7,8]")
        XCTAssertEqual(datasets["history/indices"]?["maxshape"] as? [Int], [-1, 2])
        let streamAttributes = try XCTUnwrap(datasets["history/indices"]?["attrs"] as? [String: [String: Any]])
        XCTAssertEqual(streamAttributes["unit"]?["type"] as? String, "str")
        XCTAssertEqual(streamAttributes["unit"]?["value"] as? String, "index")

        let attributes = try XCTUnwrap(json["attributes"] as? [String: [String: Any]])
        XCTAssertEqual(attributes["title"]?["type"] as? String, "str", "variable-length UTF-8 arrives as str")
        XCTAssertEqual(attributes["title"]?["value"] as? String, "ExPLAIND ü")
        XCTAssertEqual(attributes["steps"]?["type"] as? String, "int")
        XCTAssertEqual(attributes["steps"]?["value"] as? Int, 1940)
        XCTAssertEqual(attributes["lr"]?["type"] as? String, "float")
        XCTAssertEqual(attributes["lr"]?["value"] as? Double, 0.125)
        XCTAssertEqual(attributes["betas"]?["value"] as? [Double], [0.9, 0.999])
        XCTAssertEqual(attributes["dims"]?["value"] as? [Int], [784, 10])
        XCTAssertEqual(attributes["config"]?["value"] as? String, #"{"seed":3}"#)
    }
}
