using Pooler.Core.Servers;
using Xunit;

namespace Pooler.Core.Tests.Servers;

/// <summary>
/// An event loop's free buffers: one given back on another thread (a client whose login went on
/// on the thread pool) is lent again, by the loop and off it, instead of being left to the collector.
/// </summary>
public sealed class BufferShelfTests
{
    private const int Size = 4096;

    [Fact]
    public async Task A_buffer_given_back_on_another_thread_is_lent_again_by_the_loop()
    {
        var shelf = new BufferShelf(Size, kept: 4);
        var buffer = new byte[Size];

        await Task.Run(() => shelf.ReturnElsewhere(buffer));

        Assert.Equal(1, shelf.ReturnedElsewhere);
        Assert.Same(buffer, shelf.Rent());
        Assert.Equal(0, shelf.ReturnedElsewhere);
        Assert.NotSame(buffer, shelf.Rent()); // nothing left: a new one
    }

    [Fact]
    public void A_buffer_given_back_elsewhere_is_lent_elsewhere_too()
    {
        var shelf = new BufferShelf(Size, kept: 4);
        var buffer = new byte[Size];

        shelf.ReturnElsewhere(buffer);

        Assert.Same(buffer, shelf.RentElsewhere());
        Assert.Equal(Size, shelf.RentElsewhere().Length);
    }

    [Fact]
    public void The_loop_lends_its_own_buffers_first_and_each_stack_keeps_at_most_kept()
    {
        var shelf = new BufferShelf(Size, kept: 2);
        var own = new byte[Size];
        var elsewhere = new byte[Size];
        shelf.ReturnOnLoop(own);
        shelf.ReturnElsewhere(elsewhere);
        for (var i = 0; i < 5; i++)
        {
            shelf.ReturnOnLoop(new byte[Size]);
            shelf.ReturnElsewhere(new byte[Size]);
        }

        Assert.Equal(2, shelf.ReturnedElsewhere);
        var lent = Enumerable.Range(0, 5).Select(_ => shelf.Rent()).ToList();
        Assert.Contains(own, lent.Take(2));      // the loop's own two first
        Assert.Contains(elsewhere, lent.Skip(2).Take(2)); // then the two given back elsewhere
        Assert.Equal(0, shelf.ReturnedElsewhere);
    }
}
