import Artifacts
import EPK
import Foundation
import History
import NN

/// What a history was trained on, rebuilt from the config stored inside it, and checked against its checksum.
public struct ReplaySetup {
    public let history: HistoryFileReader
    public let trainConfig: TrainConfig
    public let model: Model
    public let data: ExperimentData

    public init(historyPath: String, dataDirectory: String?) throws {
        history = try HistoryFileReader(path: historyPath)
        trainConfig = try StrictConfig.decode(
            TrainConfig.self, from: Data(history.configJSON.utf8), source: historyPath + " (stored config)")
        model = try ExperimentModel.make(
            history: historyPath, modelSpecJSON: history.modelSpecJSON, experiment: trainConfig.experiment)
        data = try ExperimentData.load(trainConfig, dataDirectory: dataDirectory)
        if data.train.checksum != history.datasetChecksum {
            throw ArtifactError(
                .invalidArgument, file: historyPath,
                problem:
                    "recorded on training data with checksum \(history.datasetChecksum), but the data found now has \(data.train.checksum) (\(data.summary))",
                fix: "point --data at the data the history was trained on")
        }
        try EPKEngine.check(model: model, history: history, data: DatasetReplay(data.train))
    }
}
