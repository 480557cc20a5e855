using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Pooler.Core.Servers;

/// <summary>
/// Asks the CPU to start loading an object's first cache lines while it goes on with other work.
/// A hint only: the object may move or die meanwhile, and a prefetch of any address never faults.
/// </summary>
internal static class Prefetch
{
    /// <summary>Starts loading the first <paramref name="lines"/> 64-byte lines of <paramref name="target"/> (nothing for null).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Object(object? target, int lines = 1)
    {
        if (!Sse.IsSupported || target is null)
            return;
        var address = (byte*)Unsafe.As<object, nint>(ref target);
        for (var line = 0; line < lines; line++)
            Sse.Prefetch0(address + line * 64);
    }
}
