import Artifacts
import Foundation
import XCTest

@testable import ExperimentKit

/// The jobs and sbatch scripts `reproduce --executor slurm` plans, and the strict `resources` / `shards` keys
/// (no cluster needed; SlurmClusterTests submits them to a real one).
final class SlurmPlanTests: XCTestCase {
    let pipeline = PipelineConfig(
        name: "p",
        stages: [
            Stage(
                name: "train", executable: "train-mnist", config: "Configs/mnist-quick.json",
                artifact: "out/train/metrics.h5"),
            Stage(
                name: "epk", executable: "validate-epk", config: "Configs/mnist-epk-quick.json",
                artifact: "out/epk/epk.h5",
                after: ["train"], shards: 3,
                resources: SlurmResources(cpus: 2, memory: "6G", sbatchFlags: ["--qos=long"])),
            Stage(name: "other", executable: "prune", config: "Configs/prune-quick.json", artifact: "out/prune/p.h5"),
        ], resources: SlurmResources(time: "1:00:00", partition: "cpu", account: "lab", sbatchFlags: ["--nice=10"]))

    private func plan(_ statuses: [String: StageStatus], force: Bool = false) -> SlurmPlan {
        SlurmPlan.make(
            pipeline: pipeline, pipelinePath: "pipe.json", statuses: statuses, force: force,
            binDirectory: "/bin dir", workingDirectory: "/work/x", reportPath: "out/REPORT.md")
    }

    func testShardedStageIsAnArrayJobAndAMergeThatDependantsWaitFor() {
        let p = plan(["train": .missing, "epk": .missing, "other": .missing])
        XCTAssertEqual(p.jobs.map(\.label), ["train", "epk (shards)", "epk (merge)", "other", "report"])
        XCTAssertEqual(p.jobs.map(\.dependencies), [[], [0], [1], [], [0, 1, 2, 3]])
        XCTAssertEqual(p.jobs[1].kind, .shards(3))
        XCTAssertEqual(p.dependants(of: 0), [1, 2, 4])
        XCTAssertEqual(p.jobs[1].scriptPath, "/work/x/out/epk/epk-shards.sbatch")
        XCTAssertEqual(p.jobs[1].logPath(jobID: "41_3"), "/work/x/out/epk/epk-41_3.log")
        XCTAssertEqual(p.jobs[2].logPath(jobID: "42"), "/work/x/out/epk/epk-merge-42.log")
        XCTAssertEqual(p.jobs[1].outputs, (1...3).map { "/work/x/out/epk/epk-shard-\($0)-of-3.h5" })

        let shards = p.jobs[1].script.split(separator: "\n").map(String.init)
        for line in [
            "#SBATCH --job-name=p:epk", "#SBATCH --output=/work/x/out/epk/epk-%A_%a.log", "#SBATCH --chdir=/work/x",
            "#SBATCH --array=1-3", "#SBATCH --cpus-per-task=2", "#SBATCH --mem=6G", "#SBATCH --time=1:00:00",
            "#SBATCH --partition=cpu", "#SBATCH --account=lab", "#SBATCH --nice=10", "#SBATCH --qos=long",
            "exec '/bin dir/validate-epk' --config Configs/mnist-epk-quick.json --out /work/x/out/epk --shard \"${SLURM_ARRAY_TASK_ID}/3\"",
        ] {
            XCTAssertTrue(shards.contains(line), "missing line: \(line)\n\(p.jobs[1].script)")
        }
        XCTAssertTrue(
            p.jobs[2].script.contains(
                "exec '/bin dir/validate-epk' merge --out out/epk/epk.h5 /work/x/out/epk/epk-shard-1-of-3.h5 /work/x/out/epk/epk-shard-2-of-3.h5 /work/x/out/epk/epk-shard-3-of-3.h5\n"
            ))
        // Defaults fill what neither the stage nor the pipeline sets.
        XCTAssertTrue(
            p.jobs[0].script.contains("#SBATCH --cpus-per-task=1\n#SBATCH --mem=4G\n#SBATCH --time=1:00:00\n"),
            p.jobs[0].script)
        XCTAssertFalse(p.jobs[0].script.contains("--array"))
        XCTAssertTrue(
            p.jobs[4].script.contains("exec '/bin dir/report' --config pipe.json --out out/REPORT.md --results\n"),
            p.jobs[4].script)
        XCTAssertEqual(p.jobs[4].scriptPath, "/work/x/out/report.sbatch")
    }

    /// `reproduce --reference`: a stage stores its companion itself; a sharded one from its merge job only.
    func testReferenceCompanionsComeFromTheStageOrTheMergeJob() throws {
        var withReference = pipeline
        withReference.reference = "ref"
        withReference.stages[0].reference = "ref/train/metrics.h5"
        withReference.stages[1].reference = "ref/epk/epk.h5"
        let stored = try withReference.storingReferences()
        let p = SlurmPlan.make(
            pipeline: stored, pipelinePath: "pipe.json", statuses: [:], force: true, binDirectory: "/b",
            workingDirectory: "/w", reportPath: "out/REPORT.md")
        XCTAssertTrue(p.jobs[0].script.contains("--reference ref/train\n"), p.jobs[0].script)
        XCTAssertFalse(p.jobs[1].script.contains("--reference"), p.jobs[1].script)
        XCTAssertTrue(
            p.jobs[2].script.contains("merge --out out/epk/epk.h5 --reference ref/epk /w/out/epk/"), p.jobs[2].script)
        XCTAssertFalse(p.jobs[3].script.contains("--reference"), "a stage without a reference stores none")
        XCTAssertThrowsError(try pipeline.storingReferences()) {
            XCTAssertTrue("\($0)".contains("declares no stored reference"), "\($0)")
        }
    }

    func testUpToDateStagesAreSkippedUnlessAStageTheyReadRuns() {
        var p = plan(["train": .upToDate, "epk": .upToDate, "other": .upToDate])
        XCTAssertEqual(p.jobs.map(\.label), ["report"])
        XCTAssertEqual(p.skipped, ["train", "epk", "other"])
        p = plan(["train": .upToDate, "epk": .missing, "other": .upToDate])
        XCTAssertEqual(p.jobs.map(\.label), ["epk (shards)", "epk (merge)", "report"])
        XCTAssertEqual(p.jobs[0].dependencies, [], "train is up to date: nothing to wait for")
        p = plan(["train": .configChanged, "epk": .upToDate, "other": .upToDate])
        XCTAssertEqual(p.jobs.map(\.label), ["train", "epk (shards)", "epk (merge)", "report"])
        p = plan(["train": .upToDate, "epk": .upToDate, "other": .upToDate], force: true)
        XCTAssertEqual(p.jobs.count, 5)
    }

    func testQuoting() {
        XCTAssertEqual(
            SbatchScript.quote(["a/b.json", "it's", "", "x y", "--out=dir"]), "a/b.json 'it'\\''s' '' 'x y' --out=dir")
    }

    private func decode(_ json: String) -> String? {
        do {
            _ = try StrictConfig.decode(PipelineConfig.self, from: Data(json.utf8), source: "p.json"); return nil
        } catch { return "\(error)" }
    }

    func testResourcesAndShardsAreStrict() {
        let stage = #"{"name": "e", "executable": "validate-epk", "config": "c", "artifact": "a""#
        XCTAssertNil(
            decode(
                #"{"name": "p", "resources": {"cpus": 4, "memory": "8G", "time": "1-00:00:00", "sbatch_flags": ["--qos=x"]}, "stages": [\#(stage), "shards": 4, "resources": {"partition": "gpu"}}]}"#
            ))
        XCTAssertEqual(
            decode(#"{"name": "p", "resources": {"cpu": 4}, "stages": []}"#),
            "p.json: unknown key 'resources.cpu' (expected one of: account, cpus, memory, partition, sbatch_flags, time)"
        )
        XCTAssertEqual(
            decode(#"{"name": "p", "stages": [\#(stage), "resources": {"memory": "8 GB"}}]}"#),
            "p.json: key 'stages[0].resources.memory': expected a Slurm size such as \"4G\" or \"1500M\", found \"8 GB\""
        )
        XCTAssertEqual(
            decode(#"{"name": "p", "stages": [\#(stage), "shards": 0}]}"#),
            "p.json: key 'stages[0].shards': expected at least 1, found 0")
        XCTAssertEqual(
            decode(
                #"{"name": "p", "stages": [{"name": "t", "executable": "train-mnist", "config": "c", "artifact": "a", "shards": 2}]}"#
            ),
            "p.json: key 'stages[0].shards': only a validate-epk stage can be sharded, 't' runs train-mnist")
        XCTAssertEqual(
            decode(#"{"name": "p", "resources": {"time": "2h"}, "stages": []}"#),
            "p.json: key 'resources.time': expected a Slurm duration such as \"30\", \"2:00:00\" or \"1-12:00:00\", found \"2h\""
        )
        XCTAssertEqual(
            decode(#"{"name": "p", "resources": {"sbatch_flags": ["qos=x"]}, "stages": []}"#),
            "p.json: key 'resources.sbatch_flags[0]': expected one sbatch option starting with '-', found \"qos=x\"")
    }

    func testStatusTable() {
        let rows = [
            SlurmExecutor.Row(label: "train", jobID: "7", state: "COMPLETED", elapsed: "0:41", job: 0),
            SlurmExecutor.Row(label: "epk [shard 1/2]", jobID: "8_1", state: "RUNNING", elapsed: "0:03", job: 1),
        ]
        XCTAssertEqual(
            SlurmExecutor.table(rows),
            """
            stage            job  state      elapsed
            train            7    COMPLETED  0:41
            epk [shard 1/2]  8_1  RUNNING    0:03
            """)
    }
}
