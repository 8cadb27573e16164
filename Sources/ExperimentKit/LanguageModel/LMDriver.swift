import Artifacts
import Foundation

/// `train-lm`: trains the language model, then writes `lm-metrics.h5` and its figure beside the history.
public enum LMDriver {
    public static func run(configPath: String, outputDirectory: String?, dataDirectory: String?) throws -> String {
        let config = try StrictConfig.load(LMConfig.self, from: configPath)
        let json = try String(contentsOfFile: configPath, encoding: .utf8)
        let corpus = try config.loadCorpus(dataDirectory: dataDirectory)
        let out = outputDirectory ?? "results/lm/\(config.run)"
        try OutputLock.acquire(directory: out)
        let result = try LMTrainer.train(config: config, configJSON: json, corpus: corpus, directory: out)
        let history = try LMHistoryReader(path: result.historyPath)
        defer { history.close() }
        let metrics = out + "/lm-metrics.h5"
        try LMTrainingMetrics.write(history: history, to: metrics)
        renderFigures(metrics, directory: out)
        return result.historyPath
    }
}
