using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Pooler.Core.Servers;

/// <summary>
/// Non-blocking <c>recv</c> and <c>send</c> called straight in libc, for sockets on an
/// <see cref="EventLoop"/>. <see cref="Socket.Receive(Span{byte}, SocketFlags, out SocketError)"/>
/// reaches the same system call through a marshalling stub, .NET's native shim and two error
/// translations, about four times per transaction here.
/// </summary>
/// <remarks>
/// The socket's handle is referenced across each call, as .NET does: a socket closed meanwhile
/// keeps its descriptor until the call returns, so the number cannot be reused by another
/// connection under it. errno is read at once after the call, as the runtime's own generated
/// interop does.
/// </remarks>
internal static class NativeSocket
{
    private const int EINTR = 4, EAGAIN = 11, EPIPE = 32, ENETDOWN = 100, ENETUNREACH = 101,
        ECONNABORTED = 103, ECONNRESET = 104, ENOTCONN = 107, ESHUTDOWN = 108, ETIMEDOUT = 110,
        EHOSTUNREACH = 113;

    private const int MSG_DONTWAIT = 0x40;   // never blocks, whatever the socket's mode (see SuppressGCTransition below)
    private const int MSG_NOSIGNAL = 0x4000; // a peer that is gone gives EPIPE, not SIGPIPE

    /// <summary>Receives into <paramref name="buffer"/>: the count (0 at the peer's end), or 0 with <paramref name="error"/> set.</summary>
    public static int Receive(SafeSocketHandle handle, Span<byte> buffer, out SocketError error) =>
        Call(handle, send: false, ref MemoryMarshal.GetReference(buffer), buffer.Length, out error);

    /// <summary>Sends what the socket takes of <paramref name="bytes"/>: the count, or 0 with <paramref name="error"/> set.</summary>
    public static int Send(SafeSocketHandle handle, ReadOnlySpan<byte> bytes, out SocketError error) =>
        Call(handle, send: true, ref MemoryMarshal.GetReference(bytes), bytes.Length, out error);

    private static int Call(SafeSocketHandle handle, bool send, ref byte buffer, int length, out SocketError error)
    {
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            var fd = (int)handle.DangerousGetHandle();
            while (true)
            {
                var count = send
                    ? NativeSocket.send(fd, ref buffer, length, MSG_NOSIGNAL | MSG_DONTWAIT)
                    : recv(fd, ref buffer, length, MSG_DONTWAIT);
                if (count >= 0)
                {
                    error = SocketError.Success;
                    return (int)count;
                }
                if (Failed(out error))
                    return 0;
            }
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    /// <summary>The call failed: false to call again (interrupted), else true with the error.</summary>
    private static bool Failed(out SocketError error)
    {
        error = Marshal.GetLastSystemError() switch
        {
            EINTR => SocketError.Interrupted,
            EAGAIN => SocketError.WouldBlock,
            EPIPE or ESHUTDOWN => SocketError.Shutdown,
            ECONNRESET => SocketError.ConnectionReset,
            ECONNABORTED => SocketError.ConnectionAborted,
            ENOTCONN => SocketError.NotConnected,
            ETIMEDOUT => SocketError.TimedOut,
            EHOSTUNREACH => SocketError.HostUnreachable,
            ENETUNREACH => SocketError.NetworkUnreachable,
            ENETDOWN => SocketError.NetworkDown,
            _ => SocketError.SocketError,
        };
        return error != SocketError.Interrupted;
    }

    // Without the GC transition: the calls never block (MSG_DONTWAIT) and take microseconds, so a
    // garbage collection waiting for this thread waits no longer than that; the transition's
    // bookkeeping (a frame, thread-local lookups) cost more user time than the calls' own code.
    [DllImport("libc"), SuppressGCTransition]
    private static extern nint recv(int fd, ref byte buffer, nint length, int flags);

    [DllImport("libc"), SuppressGCTransition]
    private static extern nint send(int fd, ref byte buffer, nint length, int flags);
}
