import XCTest
// Replaced by the module's real tests.
final class ArtifactsTestsPlaceholder: XCTestCase {}
