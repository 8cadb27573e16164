import Artifacts
import Foundation

/// `reproduce --executor slurm`: submits a `SlurmPlan` with sbatch, then (unless told not to) polls squeue until
/// every job has finished, printing a status table whenever a state changes. When a job fails, the jobs that wait
/// for it are cancelled and the run ends with an error naming the stage and the job's log file.
///
/// Finished jobs are read with `squeue -t all` (kept for `MinJobAge` seconds); a job that has left the queue is
/// looked up with `sacct`, and when that is unavailable too, judged by whether its artifact was written.
public enum SlurmExecutor {
    /// One line of the status table: a job, or one task of an array job.
    public struct Row: Equatable, Sendable {
        public var label: String
        public var jobID: String
        public var state: String
        public var elapsed: String
        /// Index of the job in the plan.
        public var job: Int
    }

    public struct Outcome: Sendable {
        public var plan: SlurmPlan
        /// Slurm job id of each job of the plan.
        public var jobIDs: [String]
        /// The last status table (empty with `wait: false`).
        public var rows: [Row]
    }

    static let failedStates = [
        "FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "DEADLINE",
        "PREEMPTED", "CANCELLED", "REVOKED", "LOST",
    ]

    /// Plans, submits and (with `wait`) waits for the pipeline; `output` receives the status tables.
    public static func run(
        pipeline: PipelineConfig, pipelinePath: String, force: Bool, binDirectory: String,
        reportPath: String, wait: Bool, pollSeconds: Double = 5,
        output: (String) -> Void = { print($0) }
    ) throws -> Outcome {
        let statuses = Dictionary(
            uniqueKeysWithValues: pipeline.stages.map {
                ($0.name, force ? .missing : Pipeline.status(of: $0, in: pipeline))
            })
        let plan = SlurmPlan.make(
            pipeline: pipeline, pipelinePath: pipelinePath, statuses: statuses, force: force,
            binDirectory: binDirectory, workingDirectory: FileManager.default.currentDirectoryPath,
            reportPath: reportPath)
        for s in plan.skipped { Log.info("[\(pipeline.name)] \(s): skipped (up to date)") }
        let start = Date()
        let ids = try submit(plan)
        output(
            "submitted \(ids.count) jobs (\(plan.skipped.count) stages up to date):\n"
                + table(
                    plan.jobs.indices.map {
                        Row(label: plan.jobs[$0].label, jobID: ids[$0], state: "SUBMITTED", elapsed: "-", job: $0)
                    }))
        guard wait else { return Outcome(plan: plan, jobIDs: ids, rows: []) }
        let rows = try waitForJobs(plan, ids: ids, since: start, pollSeconds: pollSeconds, output: output)
        output(String(format: "all %d jobs COMPLETED in %.0f s", rows.count, Date().timeIntervalSince(start)))
        return Outcome(plan: plan, jobIDs: ids, rows: rows)
    }

    /// Writes every script next to its stage's artifact and submits it; returns the job ids. If sbatch refuses a
    /// job, the jobs already submitted are cancelled.
    public static func submit(_ plan: SlurmPlan) throws -> [String] {
        var ids: [String] = []
        for job in plan.jobs {
            let directory = (job.scriptPath as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try AtomicFile.write(data: Data(job.script.utf8), to: job.scriptPath)
            var arguments = ["--parsable"]
            if !job.dependencies.isEmpty {
                arguments += [
                    "--dependency=afterok:" + job.dependencies.map { ids[$0] }.joined(separator: ":"),
                    "--kill-on-invalid-dep=yes",
                ]
            }
            let result = try command("sbatch", arguments + [job.scriptPath])
            let id =
                result.out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ";").first.map(String.init)
                ?? ""
            guard result.status == 0, !id.isEmpty, id.allSatisfy(\.isNumber) else {
                if !ids.isEmpty { _ = try? command("scancel", ids) }
                throw ArtifactError(
                    .io, file: job.scriptPath,
                    problem: "sbatch refused the job of stage '\(job.stage)': \(oneLine(result.err + result.out))",
                    fix:
                        "fix the stage's resources in the pipeline config (or start a cluster: bash scripts/slurm-local.sh start)"
                )
            }
            ids.append(id)
        }
        return ids
    }

    /// Polls until every job has finished, printing the table whenever a state changes. On the first failure the
    /// failed job's dependants are cancelled; at the end a `SlurmFailure` names the stage, the job and its log.
    public static func waitForJobs(
        _ plan: SlurmPlan, ids: [String], since start: Date, pollSeconds: Double,
        output: (String) -> Void
    ) throws -> [Row] {
        var shown = ""
        var cancelled = Set<Int>()
        var failures: [Row] = []
        while true {
            let rows = try statusRows(plan, ids: ids, since: start)
            let states = rows.map { $0.jobID + " " + $0.state }.joined(separator: ",")
            if states != shown { output(table(rows)); shown = states }
            for row in rows
            where isFailed(row.state) && !cancelled.contains(row.job)
                && !failures.contains(where: { $0.jobID == row.jobID })
            {
                failures.append(row)
                let victims = plan.dependants(of: row.job).subtracting(cancelled).sorted()
                cancelled.formUnion(victims)
                let live = victims.filter { v in rows.contains { $0.job == v && !isTerminal($0.state) } }
                if !live.isEmpty { _ = try? command("scancel", live.map { ids[$0] }) }
            }
            if rows.allSatisfy({ isTerminal($0.state) }) {
                guard let first = failures.first else { return rows }
                let job = plan.jobs[first.job]
                throw SlurmFailure(
                    stage: job.stage, jobID: first.jobID, state: first.state,
                    log: job.logPath(jobID: first.jobID), otherFailures: failures.count - 1,
                    cancelled: Array(Set(cancelled.map { plan.jobs[$0].label })).sorted(),
                    jobIDs: ids, rows: rows)
            }
            Thread.sleep(forTimeInterval: pollSeconds)
        }
    }

    /// The current state of every job (array jobs: every task).
    static func statusRows(_ plan: SlurmPlan, ids: [String], since start: Date) throws -> [Row] {
        var known = try queue()
        let missing = ids.filter { id in !known.keys.contains { $0 == id || $0.hasPrefix(id + "_") } }
        if !missing.isEmpty { known.merge(accounting(missing)) { a, _ in a } }
        var rows: [Row] = []
        for (i, job) in plan.jobs.enumerated() {
            let tasks = known.keys.filter { $0 == ids[i] || $0.hasPrefix(ids[i] + "_") }
                .sorted { $0.count != $1.count ? $0.count < $1.count : $0 < $1 }
            if tasks.isEmpty {
                let state = artifactWritten(job, since: start) ? "COMPLETED" : "FAILED"
                rows.append(Row(label: job.label, jobID: ids[i], state: state + "?", elapsed: "-", job: i))
                continue
            }
            for t in tasks {
                var label = job.label
                if case .shards(let n) = job.kind, let task = t.split(separator: "_").last, task.allSatisfy(\.isNumber)
                {
                    label = "\(job.stage) [shard \(task)/\(n)]"
                }
                rows.append(Row(label: label, jobID: t, state: known[t]!.state, elapsed: known[t]!.elapsed, job: i))
            }
        }
        return rows
    }

    /// squeue's view of the user's jobs, array tasks expanded: job id → (state, elapsed).
    static func queue() throws -> [String: (state: String, elapsed: String)] {
        let result = try command("squeue", ["--me", "-h", "-r", "-t", "all", "-o", "%i|%T|%M"])
        guard result.status == 0 else {
            throw ArtifactError(
                .io, "squeue failed: \(oneLine(result.err)); is the cluster up? (bash scripts/slurm-local.sh status)")
        }
        return parse(result.out)
    }

    /// sacct's view of jobs that left the queue; empty where accounting is disabled.
    static func accounting(_ ids: [String]) -> [String: (state: String, elapsed: String)] {
        guard
            let result = try? command(
                "sacct", ["-n", "-X", "-P", "-o", "JobID,State,Elapsed", "-j", ids.joined(separator: ",")]),
            result.status == 0
        else { return [:] }
        return parse(result.out).mapValues {
            ($0.state.split(separator: " ").first.map(String.init) ?? $0.state, $0.elapsed)
        }
    }

    static func parse(_ text: String) -> [String: (state: String, elapsed: String)] {
        var map: [String: (state: String, elapsed: String)] = [:]
        for line in text.split(separator: "\n") {
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            if f.count >= 3 { map[f[0].trimmingCharacters(in: .whitespaces)] = (f[1], f[2]) }
        }
        return map
    }

    /// For a job no longer known to Slurm: did it write what it should have?
    static func artifactWritten(_ job: SlurmJob, since start: Date) -> Bool {
        job.outputs.allSatisfy { Pipeline.modificationDate($0) >= start }
    }

    static func isTerminal(_ state: String) -> Bool { state.hasPrefix("COMPLETED") || isFailed(state) }
    static func isFailed(_ state: String) -> Bool { failedStates.contains { state.hasPrefix($0) } }

    /// A fixed-width table: stage, job id, state, elapsed.
    public static func table(_ rows: [Row]) -> String {
        let header = Row(label: "stage", jobID: "job", state: "state", elapsed: "elapsed", job: -1)
        let all = [header] + rows
        let w = [all.map(\.label.count).max()!, all.map(\.jobID.count).max()!, all.map(\.state.count).max()!]
        func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
        return all.map { "\(pad($0.label, w[0]))  \(pad($0.jobID, w[1]))  \(pad($0.state, w[2]))  \($0.elapsed)" }
            .joined(separator: "\n")
    }

    /// Runs a Slurm client (found on PATH); a missing client is an error saying how to get one.
    static func command(_ tool: String, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        if process.terminationStatus == 127 {
            throw ArtifactError(
                .notFound,
                "\(tool): not found on PATH; install Slurm's clients (Debian: slurm-wlm) or start a local cluster with `bash scripts/slurm-local.sh start`"
            )
        }
        return (
            process.terminationStatus, String(decoding: outData, as: UTF8.self),
            String(decoding: errData, as: UTF8.self)
        )
    }

    static func oneLine(_ s: String) -> String {
        s.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingCharacters(in: .whitespaces)
    }
}

/// A failed pipeline job: the stage, the job, its log, and what was cancelled because of it.
public struct SlurmFailure: Error, CustomStringConvertible, Sendable {
    public var stage: String
    public var jobID: String
    public var state: String
    public var log: String
    public var otherFailures: Int
    /// Labels of the jobs cancelled because they waited for a failed one.
    public var cancelled: [String]
    /// Every job id of the submission and the final status table.
    public var jobIDs: [String]
    public var rows: [SlurmExecutor.Row]

    public var description: String {
        let others = otherFailures > 0 ? "; \(otherFailures) more failed" : ""
        let skipped =
            cancelled.isEmpty ? "" : "; cancelled the jobs waiting for it: " + cancelled.joined(separator: ", ")
        return
            "stage '\(stage)' failed (Slurm job \(jobID) \(state)); its log: \(log)\(others)\(skipped); fix the cause and rerun reproduce, which submits only what is missing"
    }
}
