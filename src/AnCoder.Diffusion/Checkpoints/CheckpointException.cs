namespace AnCoder.Diffusion.Checkpoints;

/// <summary>
/// A checkpoint (safetensors file, model folder, Hugging Face folder) that cannot be read or does not fit the model.
/// The message names the file and, where there is one, the tensor; mismatches are listed all at once.
/// </summary>
public sealed class CheckpointException : Exception
{
    public CheckpointException(string message) : base(message) { }
    public CheckpointException(string message, Exception inner) : base(message, inner) { }
}
