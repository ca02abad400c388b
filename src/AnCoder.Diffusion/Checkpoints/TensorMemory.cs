using System.Reflection;
using TorchSharp;
using static TorchSharp.torch;

namespace AnCoder.Diffusion.Checkpoints;

/// <summary>
/// Raw access to a CPU tensor's bytes without the 2 GB limit of <c>Tensor.bytes</c> (a <c>Span</c>).
/// TorchSharp 0.107 keeps <c>THSTensor_data</c> (= <c>tensor.data_ptr()</c>) internal; we bind it once by reflection.
/// </summary>
internal static unsafe class TensorMemory
{
    private static readonly Func<IntPtr, IntPtr> DataFunction = BindDataFunction();

    private static Func<IntPtr, IntPtr> BindDataFunction()
    {
        var nativeMethods = typeof(Tensor).Assembly.GetType("TorchSharp.PInvoke.NativeMethods")
            ?? throw new InvalidOperationException("TorchSharp.PInvoke.NativeMethods not found (TorchSharp version changed?)");
        var method = nativeMethods.GetMethod("THSTensor_data", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic, [typeof(IntPtr)])
            ?? throw new InvalidOperationException("THSTensor_data not found (TorchSharp version changed?)");
        return method.CreateDelegate<Func<IntPtr, IntPtr>>();
    }

    /// <summary>Address of the first element of a contiguous CPU tensor (storage offset included).</summary>
    public static byte* Data(Tensor tensor)
    {
        if (tensor.device_type != DeviceType.CPU) throw new ArgumentException("tensor must be on the CPU");
        if (!tensor.is_contiguous()) throw new ArgumentException("tensor must be contiguous");
        return (byte*)DataFunction(tensor.Handle);
    }

    public static long ByteCount(Tensor tensor) => tensor.numel() * tensor.element_size();

    /// <summary>Copies <paramref name="count"/> bytes into the tensor's memory (chunked: spans are int-sized).</summary>
    public static void CopyInto(Tensor tensor, byte* source, long count)
    {
        if (count != ByteCount(tensor)) throw new ArgumentException($"expected {ByteCount(tensor)} bytes, got {count}");
        if (count == 0) return;
        Buffer.MemoryCopy(source, Data(tensor), count, count);
    }

    /// <summary>Writes the tensor's bytes (contiguous CPU tensor) to a stream in chunks of at most 64 MB.</summary>
    public static void WriteTo(Tensor tensor, Stream stream)
    {
        long total = ByteCount(tensor);
        if (total == 0) return;
        byte* data = Data(tensor);
        const int Chunk = 64 << 20;
        for (long offset = 0; offset < total; offset += Chunk)
        {
            int length = (int)Math.Min(Chunk, total - offset);
            stream.Write(new ReadOnlySpan<byte>(data + offset, length));
        }
    }
}
