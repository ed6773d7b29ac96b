//! The public surface every stream type shares, written once.

/// Defines a public stream type around a core from [`crate::cores`]: the
/// struct, `Unpin`, the accessors (`limit`, `set_limit`, `in_flight`,
/// `into_inner`, `indexed`), `Stream`, `FusedStream`, `Debug`, and the sealed
/// hook [`Indexed`](crate::Indexed) polls through. Each accessor gets a
/// runnable example built from the `example` pieces: `new` must build a stream
/// named `stream` over ten ready items `0..10` with a limit of 3, whose first
/// outputs are `first` and `second`, and `rest` must count what `into_inner`
/// hands back.
macro_rules! limited_stream {
    (
        $(#[$attr:meta])*
        pub struct $name:ident<$P:ident>
        where [$($bounds:tt)*]
        impl [$($extra:ident),*] where [$($impl_bounds:tt)*]
        {
            core: $core:ty,
            item: $item:ty,
            new: |$arg:ident: $arg_ty:ty| $make_source:expr,
            into_inner: $inner:ty, |$source:ident| $unwrap:expr,
            set_limit: $set_limit:literal,
            example_use: $ex_use:literal,
            example_new: $ex_new:literal,
            example_first: $ex_first:literal,
            example_second: $ex_second:literal,
            example_rest: $ex_rest:literal,
        }
    ) => {
        $(#[$attr])*
        #[must_use = "streams do nothing unless polled"]
        pub struct $name<$P>
        where
            $($bounds)*
        {
            core: $core,
        }

        // Nothing is pinned in place: every future lives in its own pinned box
        // inside the slot arena, and the source is either never pinned (an
        // iterator) or boxed once. So the stream is `Unpin` whatever the types.
        impl<$P> Unpin for $name<$P> where $($bounds)* {}

        impl<$P> $name<$P>
        where
            $($bounds)*
        {
            #[track_caller]
            pub(crate) fn new($arg: $arg_ty, limit: usize, method: &str) -> Self {
                crate::cores::check_limit(method, limit);
                Self {
                    core: <$core>::new($make_source, limit),
                }
            }

            #[doc = concat!(
                "Drops the futures in flight and their finished outputs, and returns the source, ",
                "positioned just after the last item pulled.\n\n",
                "Nothing that was not started is lost.\n\n",
                "# Examples\n\n```\nuse futures::StreamExt;\n", $ex_use, "\n\n",
                "# futures::executor::block_on(async {\n",
                "let mut stream = ", $ex_new, ";\n",
                "assert_eq!(stream.next().await, Some(", $ex_first, "));\n",
                "// Items 0 to 3 were pulled: 0 was yielded, 1 to 3 are dropped here.\n",
                "assert_eq!(", $ex_rest, ", 6);\n",
                "# });\n```"
            )]
            pub fn into_inner(self) -> $inner {
                let $source = self.core.into_source();
                $unwrap
            }
        }

        impl<$P $(, $extra)*> $name<$P>
        where
            $($impl_bounds)*
        {
            #[doc = concat!(
                "Returns the most futures that may be in flight at once.\n\n",
                "# Examples\n\n```\n", $ex_use, "\n\n",
                "let stream = ", $ex_new, ";\n",
                "assert_eq!(stream.limit(), 3);\n```"
            )]
            pub fn limit(&self) -> usize {
                crate::cores::Core::limit(&self.core)
            }

            #[doc = concat!(
                "Changes the most futures that may be in flight at once.\n\n",
                "Raising the bound starts more futures on the next poll. Lowering it ",
                "cancels nothing: what is in flight is let finish, and no new item is ",
                "pulled until fewer than `limit` are in flight.\n\n",
                "# Panics\n\n",
                "If `limit` is 0. Pass `usize::MAX` for no bound.\n\n",
                "# Examples\n\n```\nuse futures::StreamExt;\n", $ex_use, "\n\n",
                "# futures::executor::block_on(async {\n",
                "let mut stream = ", $ex_new, ";\n",
                "assert_eq!(stream.next().await, Some(", $ex_first, "));\n",
                "stream.set_limit(5);\n",
                "stream.next().await;\n",
                "assert_eq!(stream.in_flight(), 5);\n",
                "# });\n```"
            )]
            #[track_caller]
            pub fn set_limit(&mut self, limit: usize) {
                crate::cores::check_limit($set_limit, limit);
                crate::cores::Core::set_limit(&mut self.core, limit);
            }

            #[doc = concat!(
                "Returns how many items were pulled and are neither yielded nor dropped: ",
                "futures running plus finished outputs not yet yielded.\n\n",
                "# Examples\n\n```\nuse futures::StreamExt;\n", $ex_use, "\n\n",
                "# futures::executor::block_on(async {\n",
                "let mut stream = ", $ex_new, ";\n",
                "assert_eq!(stream.in_flight(), 0); // nothing is pulled before the first poll\n",
                "assert_eq!(stream.next().await, Some(", $ex_first, "));\n",
                "assert_eq!(stream.in_flight(), 3); // the freed slot was refilled first\n",
                "# });\n```"
            )]
            pub fn in_flight(&self) -> usize {
                crate::cores::Core::in_flight(&self.core)
            }

            #[doc = concat!(
                "Pairs each output with its item's position in the input: ",
                "`(index, output)`.\n\n",
                "The index counts every item the source produced, from 0, whatever the ",
                "limit was when it was pulled (so [`set_limit`](Self::set_limit) does not ",
                "change it) and even if an earlier item's future panicked. Nothing extra is ",
                "allocated: the engine keeps each slot's index anyway. Calling `indexed` ",
                "after some outputs were yielded is fine; indices stay positions in the input.\n\n",
                "# Examples\n\n```\nuse futures::StreamExt;\n", $ex_use, "\n\n",
                "# futures::executor::block_on(async {\n",
                "let mut stream = ", $ex_new, ".indexed();\n",
                "assert_eq!(stream.next().await, Some((0, ", $ex_first, ")));\n",
                "assert_eq!(stream.next().await, Some((1, ", $ex_second, ")));\n",
                "# });\n```"
            )]
            pub fn indexed(self) -> crate::Indexed<Self> {
                crate::Indexed::new(self)
            }
        }

        impl<$P $(, $extra)*> futures_core::Stream for $name<$P>
        where
            $($impl_bounds)*
        {
            type Item = $item;

            #[inline]
            fn poll_next(
                self: core::pin::Pin<&mut Self>,
                cx: &mut core::task::Context<'_>,
            ) -> core::task::Poll<Option<$item>> {
                crate::cores::Core::poll_tagged(&mut self.get_mut().core, cx)
                    .map(|item| item.map(|(_, output)| output))
            }

            fn size_hint(&self) -> (usize, Option<usize>) {
                crate::cores::Core::size_hint(&self.core)
            }
        }

        impl<$P $(, $extra)*> futures_core::stream::FusedStream for $name<$P>
        where
            $($impl_bounds)*
        {
            fn is_terminated(&self) -> bool {
                crate::cores::Core::is_terminated(&self.core)
            }
        }

        impl<$P $(, $extra)*> crate::indexed::Tagged for $name<$P>
        where
            $($impl_bounds)*
        {
            type Output = $item;

            fn poll_tagged(
                &mut self,
                cx: &mut core::task::Context<'_>,
            ) -> core::task::Poll<Option<(usize, $item)>> {
                crate::cores::Core::poll_tagged(&mut self.core, cx)
            }

            fn size_hint(&self) -> (usize, Option<usize>) {
                crate::cores::Core::size_hint(&self.core)
            }

            fn is_terminated(&self) -> bool {
                crate::cores::Core::is_terminated(&self.core)
            }
        }

        impl<$P $(, $extra)*> core::fmt::Debug for $name<$P>
        where
            $($impl_bounds)*
        {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                crate::cores::Core::debug(&self.core, f, stringify!($name))
            }
        }
    };
}
