import Tensor
import XCTest

@testable import Artifacts

final class HDF5RoundTripTests: XCTestCase {
    var directory = ""
    override func setUpWithError() throws { directory = try makeTemporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    func testEveryElementTypeRoundTripsWithShape() throws {
        let path = directory + "/types.h5"
        let floats: [Float] = [1.5, -2.25, 3e-8, .greatestFiniteMagnitude, 0, -0.0]
        let doubles: [Double] = [Double.pi, -1e300, Double.leastNonzeroMagnitude, 42]
        let int32s: [Int32] = [Int32.min, -1, 0, 1, Int32.max, 7, 8, 9]
        let int64s: [Int64] = [Int64.min, Int64.max, 0]
        let bytes: [UInt8] = [0, 1, 127, 128, 255, 3]
        do {
            let file = try HDF5File(path: path, mode: .create)
            let root = try file.root
            try root.write("floats", floats, shape: [2, 3])
            try root.write("doubles", doubles, shape: [4])
            try root.write("int32s", int32s, shape: [2, 2, 2])
            try root.write("int64s", int64s, shape: [3, 1])
            try root.write("bytes", bytes, shape: [6])
            try root.write("scalar", [Double(2.5)], shape: [])
            try root.write("empty", [Float](), shape: [0, 4])
            file.close()
        }
        let file = try HDF5File(path: path, mode: .read)
        let root = try file.root
        let f = try root.read("floats", as: Float.self)
        XCTAssertEqual(f.values.map(\.bitPattern), floats.map(\.bitPattern))
        XCTAssertEqual(f.shape, [2, 3])
        let d = try root.read("doubles", as: Double.self)
        XCTAssertEqual(d.values, doubles)
        XCTAssertEqual(d.shape, [4])
        XCTAssertEqual(try root.readExpecting("int32s", shape: [2, 2, 2], as: Int32.self), int32s)
        XCTAssertEqual(try root.readExpecting("int64s", shape: [3, 1], as: Int64.self), int64s)
        XCTAssertEqual(try root.readExpecting("bytes", shape: [6], as: UInt8.self), bytes)
        let scalar = try root.read("scalar", as: Double.self)
        XCTAssertEqual(scalar.values, [2.5])
        XCTAssertEqual(scalar.shape, [])
        let empty = try root.read("empty", as: Float.self)
        XCTAssertEqual(empty.values, [])
        XCTAssertEqual(empty.shape, [0, 4])
        XCTAssertEqual(try root.dataset("int64s").elementTypeName, "int64")
        XCTAssertEqual(try root.dataset("bytes").elementTypeName, "uint8")
        XCTAssertEqual(try root.memberNames(), ["bytes", "doubles", "empty", "floats", "int32s", "int64s", "scalar"])
    }

    func testAttributesRoundTripAndOverwrite() throws {
        struct Described: Codable, Equatable { var name: String; var sizes: [Int] }
        let path = directory + "/attributes.h5"
        do {
            let file = try HDF5File(path: path, mode: .create)
            let root = try file.root
            let dataset = try root.write("values", [Float(1), 2], shape: [2])
            try root.setAttribute("title", "ExPLAIND — π ≈ 3.14")
            try root.setAttribute("steps", 1940)
            try root.setAttribute("lr", 0.001)
            try root.setAttribute("betas", [0.9, 0.999])
            try root.setAttribute("dims", [-3, 0, 7])
            try root.setAttribute("nothing", [Double]())
            try root.setJSONAttribute("model", Described(name: "mlp", sizes: [784, 10]))
            try dataset.setAttribute("units", "nats")
            try root.setAttribute("steps", 2000)  // same type
            try root.setAttribute("lr", "overwritten")  // different type
            file.close()
        }
        let file = try HDF5File(path: path, mode: .read)
        let root = try file.root
        XCTAssertEqual(try root.stringAttribute("title"), "ExPLAIND — π ≈ 3.14")
        XCTAssertEqual(try root.intAttribute("steps"), 2000)
        XCTAssertEqual(try root.stringAttribute("lr"), "overwritten")
        XCTAssertEqual(try root.doubleArrayAttribute("betas"), [0.9, 0.999])
        XCTAssertEqual(try root.intArrayAttribute("dims"), [-3, 0, 7])
        XCTAssertEqual(try root.doubleArrayAttribute("nothing"), [])
        XCTAssertEqual(try root.doubleAttribute("steps"), 2000)  // integers read as numbers
        XCTAssertEqual(try root.jsonAttribute("model", as: Described.self), Described(name: "mlp", sizes: [784, 10]))
        XCTAssertEqual(try root.stringAttribute("model"), #"{"name":"mlp","sizes":[784,10]}"#)
        XCTAssertEqual(try root.attributeNames(), ["betas", "dims", "lr", "model", "nothing", "steps", "title"])
        XCTAssertEqual(try root.dataset("values").stringAttribute("units"), "nats")
        XCTAssertTrue(root.hasAttribute("title"))
        XCTAssertFalse(root.hasAttribute("missing"))

        let missing = artifactError { _ = try root.stringAttribute("missing") }
        XCTAssertEqual(missing?.kind, .notFound)
        XCTAssertEqual(missing?.description.hasPrefix("\(path): /: no attribute 'missing' (it has: betas, dims,"), true)
        let wrongType = artifactError { _ = try root.intAttribute("title") }
        XCTAssertEqual(
            wrongType?.description,
            "\(path): /: attribute 'title' holds string, expected integers; "
                + "read it with the matching accessor or re-run the producing step")
        let notScalar = artifactError { _ = try root.doubleAttribute("betas") }
        XCTAssertEqual(notScalar?.kind, .shapeMismatch)
    }

    func testNestedGroups() throws {
        let path = directory + "/nested.h5"
        do {
            let file = try HDF5File(path: path, mode: .create)
            let root = try file.root
            let c = try root.createGroup("a/b/c")  // intermediate groups created
            XCTAssertEqual(c.path, "/a/b/c")
            try c.write("w", [Int32(5)], shape: [1])
            try root.write("params/fc1.weight", [Float](repeating: 1, count: 6), shape: [2, 3])
            let b = try root.group("a/b")
            XCTAssertEqual(try b.openOrCreateGroup("c").path, "/a/b/c")
            XCTAssertEqual(try b.openOrCreateGroup("d").path, "/a/b/d")
            try b.setAttribute("level", 2)
            let taken = artifactError { try root.createGroup("a/b") }
            XCTAssertEqual(taken?.description, "\(path): /a/b: already exists; remove it first or write to a new file")
            file.close()
        }
        let file = try HDF5File(path: path, mode: .read)
        let root = try file.root
        XCTAssertTrue(root.contains("a/b/c"))
        XCTAssertTrue(root.contains("/a/b/c/w"))
        XCTAssertTrue(root.contains("params/fc1.weight"))
        XCTAssertFalse(root.contains("a/x/c"))
        XCTAssertFalse(root.contains("a/b/c/w/deeper"))  // a dataset has no members
        XCTAssertFalse(root.contains("nothing/here"))
        XCTAssertEqual(try root.memberNames(), ["a", "params"])
        XCTAssertEqual(try root.group("a/b").memberNames(), ["c", "d"])
        XCTAssertEqual(try root.group("a").group("b").intAttribute("level"), 2)
        XCTAssertEqual(try root.group("a/b/c").readExpecting("w", shape: [1], as: Int32.self), [5])
        let missing = artifactError { _ = try root.group("a/b/zzz") }
        XCTAssertEqual(
            missing?.description,
            "\(path): /a/b/zzz: no such group (/ has: a, params); "
                + "check the name or re-run the producing step")
        let notGroup = artifactError { _ = try root.group("a/b/c/w") }
        XCTAssertEqual(notGroup?.kind, .typeMismatch)
    }

    func testTensorRoundTrip() throws {
        let path = directory + "/tensor.h5"
        let tensor = Tensor(shape: [2, 3, 2], storage: (0..<12).map { Float($0) * 0.5 })
        let file = try HDF5File(path: path, mode: .create)
        try file.root.write("t", tensor: tensor)
        XCTAssertEqual(try file.root.readTensor("t"), tensor)
        XCTAssertEqual(try file.root.readTensor("t", shape: [2, 3, 2]), tensor)
        XCTAssertEqual(artifactError { _ = try file.root.readTensor("t", shape: [12]) }?.kind, .shapeMismatch)
    }
}
