namespace Pooler.Protocol;

/// <summary>The transaction status byte of ReadyForQuery.</summary>
public enum TransactionStatus : byte
{
    /// <summary>'I': not in a transaction block; in transaction pooling the server connection can go back to the pool.</summary>
    Idle = (byte)'I',

    /// <summary>'T': inside a transaction block.</summary>
    InTransaction = (byte)'T',

    /// <summary>'E': inside a failed transaction block; queries are rejected until it ends.</summary>
    Failed = (byte)'E',
}

/// <summary>Text or binary representation of a value (the Int16 format codes).</summary>
public enum FormatCode : short
{
    Text = 0,
    Binary = 1,
}

/// <summary>What a Describe or Close message names: 'S' a prepared statement, 'P' a portal.</summary>
public enum StatementOrPortal : byte
{
    Statement = (byte)'S',
    Portal = (byte)'P',
}

/// <summary>Which way a COPY runs; the value is the response's type byte.</summary>
public enum CopyDirection : byte
{
    /// <summary>CopyInResponse 'G': the client sends data.</summary>
    In = (byte)'G',

    /// <summary>CopyOutResponse 'H': the server sends data.</summary>
    Out = (byte)'H',

    /// <summary>CopyBothResponse 'W': both (streaming replication).</summary>
    Both = (byte)'W',
}
