namespace Pooler.Protocol;

/// <summary>
/// What a frame scanner found at the start of its input. Running out of bytes is an ordinary
/// outcome on a socket, so it is a status and never an exception.
/// </summary>
public enum FrameStatus
{
    /// <summary>The whole frame (or, for header-only reads, the whole header) is in the input.</summary>
    Complete,

    /// <summary>More bytes are needed; nothing was consumed.</summary>
    Incomplete,

    /// <summary>The declared length is impossible (below the minimum, or wrong for a fixed-size request).</summary>
    Invalid,

    /// <summary>The declared length is above the caller's limit.</summary>
    TooLarge,
}
