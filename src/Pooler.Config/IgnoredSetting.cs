namespace Pooler.Config;

/// <summary>
/// A key the file sets that Pooler accepts but does not use (a PgCat feature Pooler has no
/// counterpart for). The host logs these so nobody believes they take effect.
/// </summary>
public sealed record IgnoredSetting(string File, int Line, string Key, string Reason)
{
    public override string ToString() => $"{File}:{Line}: {Key}: {Reason}";
}
