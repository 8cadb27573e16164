import Foundation

/// One Slurm job of a pipeline under `reproduce --executor slurm`, before submission.
public struct SlurmJob: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        /// The stage's executable, as the local executor would run it.
        case stage
        /// `validate-epk --shard $SLURM_ARRAY_TASK_ID/n`: an array job with tasks 1…n.
        case shards(Int)
        /// `validate-epk merge` of the shard files into the stage's artifact.
        case merge
        /// `report`: REPORT.md from the artifacts, after every other job.
        case report
    }
    /// The pipeline stage (or "report").
    public var stage: String
    public var kind: Kind
    /// Where the sbatch script is kept (next to the stage's artifact), absolute.
    public var scriptPath: String
    public var script: String
    /// The job's log, absolute, with Slurm's `%j` (job id) or `%A_%a` (array job id, task id).
    public var logPattern: String
    /// Indices into `SlurmPlan.jobs` of the jobs this one waits for (`--dependency=afterok:`).
    public var dependencies: [Int]
    /// The files the job writes (absolute), used to judge a job that has left Slurm's queue.
    public var outputs: [String]

    /// "epk-mnist", "epk-mnist (shards)", "epk-mnist (merge)".
    public var label: String {
        switch kind {
        case .stage, .report: return stage
        case .shards: return stage + " (shards)"
        case .merge: return stage + " (merge)"
        }
    }

    /// The log file of job `jobID` (for an array task, "123_2").
    public func logPath(jobID: String) -> String {
        let parts = jobID.split(separator: "_", maxSplits: 1).map(String.init)
        return logPattern.replacingOccurrences(of: "%A", with: parts[0])
            .replacingOccurrences(of: "%a", with: parts.count > 1 ? parts[1] : "")
            .replacingOccurrences(of: "%j", with: parts[0])
    }
}

/// The jobs `reproduce --executor slurm` submits: per stage that needs to run, one job (or, for `"shards": n`, an
/// array job of n tasks and a merge job), each depending on the jobs of the stages it reads; then the report job,
/// depending on every other job. A stage runs when it is not up to date or when a stage it reads runs.
public struct SlurmPlan: Sendable {
    public var jobs: [SlurmJob]
    /// Stages that are up to date and get no job.
    public var skipped: [String]

    /// - Parameters:
    ///   - statuses: `Pipeline.status` of each stage (ignored when `force`).
    ///   - pipelinePath: the pipeline file, as the report job is to read it (relative to `workingDirectory`).
    ///   - binDirectory: absolute folder of the executables.
    public static func make(
        pipeline: PipelineConfig, pipelinePath: String, statuses: [String: StageStatus], force: Bool,
        binDirectory: String, workingDirectory: String, reportPath: String
    ) -> SlurmPlan {
        func absolute(_ path: String) -> String {
            path.hasPrefix("/")
                ? path : URL(fileURLWithPath: workingDirectory).appendingPathComponent(path).standardizedFileURL.path
        }
        var jobs: [SlurmJob] = []
        var skipped: [String] = []
        var finalJob: [String: Int] = [:]  // stage → index of the job whose success means its artifact is written
        for stage in pipeline.stages {
            let deps = (stage.after ?? []).compactMap { finalJob[$0] }
            guard force || !deps.isEmpty || (statuses[stage.name] ?? .missing).needsRun else {
                skipped.append(stage.name)
                continue
            }
            let resources = SlurmResources.effective(for: stage, in: pipeline)
            let directory = (absolute(stage.artifact) as NSString).deletingLastPathComponent
            let base = directory + "/" + stage.name
            // A sharded stage stores its reference companion from the merge job, not from each shard.
            let reference = stage.shards == nil ? nil : SbatchScript.value(of: "--reference", in: stage.arguments ?? [])
            let arguments = SbatchScript.removing("--reference", from: stage.arguments ?? [], if: reference != nil)
            let command = [binDirectory + "/" + stage.executable, "--config", stage.config] + arguments
            func job(
                _ kind: SlurmJob.Kind, suffix: String, log: String, command: String, deps: [Int],
                outputs: [String]
            ) -> SlurmJob {
                let name = "\(pipeline.name):\(stage.name)"
                let array: Int? = if case .shards(let n) = kind { n } else { nil }
                return SlurmJob(
                    stage: stage.name, kind: kind, scriptPath: base + suffix + ".sbatch",
                    script: SbatchScript.render(
                        jobName: name, resources: resources, log: base + log,
                        workingDirectory: workingDirectory, arrayTasks: array, command: command),
                    logPattern: base + log, dependencies: deps, outputs: outputs)
            }
            if let n = stage.shards {
                let shardDirectory =
                    SbatchScript.value(of: "--out", in: stage.arguments ?? []).map(absolute) ?? directory
                let out = stage.arguments?.contains("--out") == true ? [] : ["--out", directory]
                let run = SbatchScript.quote(command + out) + " --shard \"${SLURM_ARRAY_TASK_ID}/\(n)\""
                let files = (1...n).map { shardDirectory + "/epk-shard-\($0)-of-\(n).h5" }
                jobs.append(
                    job(.shards(n), suffix: "-shards", log: "-%A_%a.log", command: run, deps: deps, outputs: files))
                let merge =
                    [binDirectory + "/validate-epk", "merge", "--out", stage.artifact]
                    + (reference.map { ["--reference", $0] } ?? []) + files
                jobs.append(
                    job(
                        .merge, suffix: "-merge", log: "-merge-%j.log", command: SbatchScript.quote(merge),
                        deps: [jobs.count - 1], outputs: [absolute(stage.artifact)]))
            } else {
                jobs.append(
                    job(
                        .stage, suffix: "", log: "-%j.log", command: SbatchScript.quote(command), deps: deps,
                        outputs: [absolute(stage.artifact)]))
            }
            finalJob[stage.name] = jobs.count - 1
        }
        let report = absolute(reportPath)
        let reportBase = (report as NSString).deletingLastPathComponent + "/report"
        // The run's own artifacts, even for a pipeline that has a stored reference.
        let reportCommand = SbatchScript.quote([
            binDirectory + "/report", "--config", pipelinePath, "--out", reportPath, "--results",
        ])
        let reportResources = SlurmResources(cpus: 1, memory: "1G", time: "30:00")
            .over((pipeline.resources ?? SlurmResources()).over(SlurmResources.defaults))
        jobs.append(
            SlurmJob(
                stage: "report", kind: .report, scriptPath: reportBase + ".sbatch",
                script: SbatchScript.render(
                    jobName: "\(pipeline.name):report", resources: reportResources,
                    log: reportBase + "-%j.log", workingDirectory: workingDirectory,
                    arrayTasks: nil, command: reportCommand),
                logPattern: reportBase + "-%j.log", dependencies: Array(jobs.indices), outputs: [report]))
        return SlurmPlan(jobs: jobs, skipped: skipped)
    }

    /// Indices of the jobs that (transitively) wait for job `index`.
    public func dependants(of index: Int) -> Set<Int> {
        var result = Set<Int>()
        var frontier = [index]
        while let i = frontier.popLast() {
            for (j, job) in jobs.enumerated() where job.dependencies.contains(i) && !result.contains(j) {
                result.insert(j)
                frontier.append(j)
            }
        }
        return result
    }
}

/// The text of one sbatch script: `#SBATCH` lines for the job's name, log, working directory and resources, then
/// the command. Dependencies are not in the script (they name job ids of one submission); `reproduce` passes them
/// to sbatch, and a user resubmitting a script by hand adds their own.
public enum SbatchScript {
    public static func render(
        jobName: String, resources r: SlurmResources, log: String, workingDirectory: String,
        arrayTasks: Int?, command: String
    ) -> String {
        var lines = [
            "#!/bin/bash",
            "# Written by `reproduce --executor slurm` (docs/CLUSTER.md). Resubmit with: sbatch <this file>",
            "#SBATCH --job-name=\(jobName)",
            "#SBATCH --output=\(log)",
            "#SBATCH --chdir=\(workingDirectory)",
        ]
        if let n = arrayTasks { lines.append("#SBATCH --array=1-\(n)") }
        if let c = r.cpus { lines.append("#SBATCH --cpus-per-task=\(c)") }
        if let m = r.memory { lines.append("#SBATCH --mem=\(m)") }
        if let t = r.time { lines.append("#SBATCH --time=\(t)") }
        if let p = r.partition { lines.append("#SBATCH --partition=\(p)") }
        if let a = r.account { lines.append("#SBATCH --account=\(a)") }
        lines += (r.sbatchFlags ?? []).map { "#SBATCH \($0)" }
        lines += [
            "set -euo pipefail",
            "echo \"[$(date -u +%FT%TZ)] job ${SLURM_JOB_ID} (${SLURM_JOB_NAME}) on $(hostname -s)\"",
            "exec " + command, "",
        ]
        return lines.joined(separator: "\n")
    }

    /// Words quoted for bash (single quotes, `'` as `'\''`), joined by spaces.
    public static func quote(_ words: [String]) -> String {
        words.map { word in
            word.allSatisfy({ $0.isLetter || $0.isNumber || "/._-=:+,@%".contains($0) }) && !word.isEmpty
                ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }.joined(separator: " ")
    }

    /// `arguments` without every `option value` pair (unchanged unless `condition`).
    static func removing(_ option: String, from arguments: [String], if condition: Bool) -> [String] {
        guard condition else { return arguments }
        var out: [String] = [], i = 0
        while i < arguments.count {
            if arguments[i] == option { i += 2; continue }
            out.append(arguments[i]); i += 1
        }
        return out
    }

    /// The value after `option` in `arguments` (the last one wins, as for the executables' parsers).
    static func value(of option: String, in arguments: [String]) -> String? {
        guard let i = arguments.lastIndex(of: option), i + 1 < arguments.count else { return nil }
        return arguments[i + 1]
    }
}
