global using System.Buffers;
global using Pooler.Protocol.Tests.Support;
global using Xunit;
