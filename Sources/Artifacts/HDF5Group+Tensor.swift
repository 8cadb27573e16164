import Tensor

/// Tensors as Float32 datasets, shape included.
extension HDF5Group {
    /// Writes `tensor` as a float32 dataset of the same shape.
    @discardableResult
    public func write(_ name: String, tensor: Tensor) throws -> HDF5Dataset {
        try write(name, tensor.storage, shape: tensor.shape)
    }

    /// Reads a float32 dataset as a tensor; with `shape`, a different stored shape is an error.
    public func readTensor(_ name: String, shape expected: [Int]? = nil) throws -> Tensor {
        if let expected {
            return Tensor(shape: expected, storage: try readExpecting(name, shape: expected, as: Float.self))
        }
        let (values, shape) = try read(name, as: Float.self)
        return Tensor(shape: shape, storage: values)
    }
}
