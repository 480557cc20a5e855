namespace Pooler.Host.Http;

/// <summary>
/// The cluster dashboard: one self-contained page (Dashboard.html, embedded in the assembly; inline
/// CSS and plain JS, nothing fetched from elsewhere) that polls <c>GET /api/cluster</c> every second.
/// </summary>
internal static class Dashboard
{
    private static readonly Lazy<byte[]> Page = new(Load);

    public static IResult Serve(HttpContext http)
    {
        http.Response.Headers.CacheControl = "no-cache";
        return Results.Bytes(Page.Value, "text/html; charset=utf-8");
    }

    private static byte[] Load()
    {
        using var stream = typeof(Dashboard).Assembly.GetManifestResourceStream("Pooler.Host.Http.Dashboard.html")
            ?? throw new InvalidOperationException("the dashboard page is missing from the assembly (Pooler.Host.Http.Dashboard.html)");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
