namespace Pooler.Core;
internal static class AssemblyMarker;
